import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxIou } from './box-metrics.ts';
import { readReferenceScans } from './real-scan-eval.ts';
import { cropVariant, flipVariant, realScanVariants, shiftVariant } from './real-scan-variants.ts';

const img = { width: 10, height: 6, data: Uint8Array.from({ length: 60 }, (_, i) => i) };

test('flip mirrors pixels and the box; flipping twice is the identity', () => {
  const f = flipVariant(img, [1, 1, 4, 3]);
  assert.deepEqual(f.box, [6, 1, 9, 3]);
  assert.equal(f.image.data[0], 9);
  const back = flipVariant(f.image, f.box);
  assert.deepEqual(back.box, [1, 1, 4, 3]);
  assert.deepEqual(back.image.data, img.data);
});

test('shift moves content and box, fills black and clips the box at the frame', () => {
  const s = shiftVariant('s', img, [6, 1, 9, 3], 2, 1);
  assert.deepEqual(s.box, [8, 2, 10, 4]);
  assert.equal(s.image.data[0], 0);
  assert.equal(s.image.data[1 * 10 + 2], img.data[0]);
});

test('crop translates and clips the box', () => {
  const c = cropVariant('c', img, [1, 1, 4, 3], [2, 0, 10, 6]);
  assert.deepEqual([c.image.width, c.image.height], [8, 6]);
  assert.deepEqual(c.box, [0, 1, 2, 3]);
  assert.equal(c.image.data[0], 2);
});

test('eight variants, every true box stays non-empty for a central ribeye', () => {
  const big = { width: 300, height: 200, data: new Uint8Array(300 * 200) };
  const variants = realScanVariants(big, [40, 40, 200, 110]);
  assert.equal(variants.length, 8);
  for (const v of variants) assert.ok(boxIou(v.box, v.box) === 1, v.name);
});

test('the reference table gives boxes for ribeye views and null for negatives', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'cti-refs-'));
  try {
    await writeFile(
      join(dir, 'README.md'),
      [
        '| file | what | box |',
        '|---|---|---|',
        '| `a.png` | a ribeye | 1, 2, 30, 40 |',
        '| `b.png` | **negative**: backfat | none |',
        '| not a row | x | 1, 2, 3, 4 |',
      ].join('\n'),
    );
    assert.deepEqual(await readReferenceScans(dir), [
      { file: 'a.png', box: [1, 2, 30, 40] },
      { file: 'b.png', box: null },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
