import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generatePhantom } from '@cti/imaging';
import { createPhantomLoop } from './phantom-loop.ts';
import { createSyntheticFrames } from './synthetic-frames.ts';

test('the phantom clip renders in a child process into an unlinked file; nothing is left in its dir', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-phantom-loop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const loop = createPhantomLoop({ width: 96, height: 72, frames: 3, seed: 5, dir });
  assert.deepEqual(readdirSync(dir), [], 'the clip file is unlinked as soon as it is opened');
  const synthetic = createSyntheticFrames({ width: 96, height: 72, seed: 5 });
  assert.deepEqual(loop.pixels(0), synthetic(0), 'the synthetic stand-in plays until the clip is ready');
  assert.equal(loop.geometry(), null, 'the stand-in has no known geometry');
  await loop.ready;
  assert.equal(loop.error(), null);
  // The probe knows its image's scale, as the generator drew it (meta.json acquisition.pixel_spacing_mm).
  const { labels } = generatePhantom({ seed: 5, width: 96, height: 72 });
  assert.deepEqual(loop.geometry(), { depthCm: labels.depthCm, pixelSpacingMm: labels.pixelSpacingMm });
  const a = loop.pixels(1);
  const b = loop.pixels(4); // the same clip frame one loop later, with different noise
  assert.equal(a.length, 96 * 72);
  assert.notDeepEqual(a, synthetic(1));
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  assert.ok(maxDiff > 0 && maxDiff <= 4, `only sensor noise (±2) differs, got max ${maxDiff}`);
  assert.notEqual(loop.pixels(1), loop.pixels(1), 'every frame is a fresh buffer (the ring keeps them)');
  loop.close();
  assert.deepEqual(loop.pixels(2), synthetic(2), 'after close the stand-in plays again');
});

test('a failing renderer is reported with its message and the synthetic stand-in keeps playing', async () => {
  const loop = createPhantomLoop({ width: 0, height: 72, frames: 2 });
  await loop.ready;
  assert.match(loop.error()?.message ?? '', /phantom clip renderer exited with 1: .*width/s);
  assert.equal(loop.pixels(0).length, 0);
  loop.close();
});

test('close() while the clip is still rendering stops the renderer without an error', async () => {
  const loop = createPhantomLoop({ width: 320, height: 240, frames: 50 });
  loop.close();
  await loop.ready;
  assert.equal(loop.error(), null);
});
