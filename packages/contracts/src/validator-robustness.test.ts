// Mutation testing of the validators: thousands of deterministic random edits to the example
// documents. Whatever the input, the validators must return (never throw), every problem must carry
// a pointer into the document, and a body they accept must map onto the S3 layout without error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRawKey, rawCaptureDir, toIngestKeyUri, validateMeta, validateWebhookBody } from './index.ts';
import { exampleMeta, exampleWebhookBody } from './testing.ts';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const odd: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e300,
  -1e300,
  '',
  ' ',
  '..',
  '../x',
  'a/b',
  'x'.repeat(300),
  'cap_1',
  'dev-0001',
  '2016-12-31T23:59:60Z',
  '1969-12-31T23:59:59Z',
  '9999-12-31T23:59:59Z',
  '2025-02-29T00:00:00Z',
  [],
  [1, 2, 3, 4],
  {},
  { lat: 1, lon: 2 },
  'meta.json',
  'image.png',
  'A'.repeat(64),
  'a'.repeat(64),
  '2.0.0',
  '1.9.9',
  '__proto__',
];

type Node = Record<string, unknown> | unknown[];
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [
    prefix,
    ...keys.flatMap((k) => paths((value as Record<string | number, unknown>)[k], [...prefix, k])),
  ];
}

function mutate(doc: unknown, random: () => number): unknown {
  const all = paths(doc).filter((p) => p.length > 0);
  const target = all[Math.floor(random() * all.length)] ?? [];
  const parent = target
    .slice(0, -1)
    .reduce<unknown>((n, k) => (n as Record<string | number, unknown>)[k], doc) as Node;
  const key = target.at(-1) as string | number;
  if (random() < 0.15 && !Array.isArray(parent)) delete parent[key as string];
  else
    (parent as Record<string | number, unknown>)[key] = structuredClone(
      odd[Math.floor(random() * odd.length)],
    );
  return doc;
}

function assertProblemsWellFormed(
  result: ReturnType<typeof validateMeta> | ReturnType<typeof validateWebhookBody>,
) {
  if (result.ok) return;
  assert.ok(result.problems.length > 0);
  for (const p of result.problems) {
    assert.match(p.pointer, /^(\/[^/]*)*$/);
    assert.ok(p.message.length > 0);
  }
}

test('validateMeta survives 3000 random mutations; accepted documents place on the layout', () => {
  const random = prng(1);
  for (let i = 0; i < 3000; i++) {
    const doc = mutate(mutate(exampleMeta(), random), random) as ReturnType<typeof exampleMeta>;
    const result = validateMeta(doc);
    assertProblemsWellFormed(result);
    if (result.ok) {
      const dir = rawCaptureDir({
        deviceCode: doc.device_code,
        capturedAt: doc.captured_at,
        captureId: doc.capture_id,
      });
      assert.equal(parseRawKey(dir).captureId, doc.capture_id);
    }
  }
});

test('validateWebhookBody survives 3000 random mutations; accepted bodies map to an ingest key URI', () => {
  const random = prng(2);
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const body = mutate(exampleWebhookBody(), random) as ReturnType<typeof exampleWebhookBody>;
    const result = validateWebhookBody(body);
    assertProblemsWellFormed(result);
    if (result.ok) {
      accepted++;
      assert.equal(toIngestKeyUri(body.bucket, body.ingest_key), `s3://${body.bucket}/${body.ingest_key}`);
    }
  }
  // Some mutations are harmless (e.g. operator_id → null): the accept path is exercised too.
  assert.ok(accepted > 0);
});
