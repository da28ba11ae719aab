import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { validateMeta, validateWebhookBody } from './index.ts';
import { EXAMPLE_IMAGE_SHA256, EXAMPLE_MASK_SHA256, exampleMeta, exampleWebhookBody } from './testing.ts';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

test('fixture files hold exactly what the builders return', () => {
  assert.deepEqual(fixture('example-meta.json'), exampleMeta());
  assert.deepEqual(fixture('example-webhook-body.json'), exampleWebhookBody());
  assert.deepEqual(fixture('invalid-meta-gps-lat.json'), exampleMeta({ gps: { lat: 91, lon: -79.3832 } }));
});

test('example hashes are real sha256 digests of the documented strings', () => {
  assert.equal(EXAMPLE_IMAGE_SHA256, sha256('cti example image.jpg'));
  assert.equal(EXAMPLE_MASK_SHA256, sha256('cti example mask.png'));
});

test('builders return fresh objects and derive the body from meta_json', () => {
  const a = exampleMeta();
  a.files.image_relpath = 'changed.png';
  assert.equal(exampleMeta().files.image_relpath, 'image.jpg');
  const body = exampleWebhookBody({
    meta_json: exampleMeta({ device_code: 'pi-7', capture_id: 'cap_x', captured_at: '2026-01-02T03:04:05Z' }),
  });
  assert.equal(body.ingest_key, 'raw/pi-7/2026/01/02/cap_x/');
  assert.equal(body.device_code, 'pi-7');
  assert.deepEqual(body.objects, ['image.jpg', 'meta.json']);
  assert.equal(validateWebhookBody(body).ok, true);
  assert.equal(validateMeta(body.meta_json).ok, true);
});
