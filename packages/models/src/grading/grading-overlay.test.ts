import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRaster } from '@cti/imaging';
import { renderGradingOverlay } from './grading-overlay.ts';

/** A lens-shaped mask and a gradient image on a canvas of the given (odd) size. */
function sample(width: number, height: number) {
  const gray = new Uint8Array(width * height);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      gray[y * width + x] = (x * 7 + y * 13) % 256;
      if (((x - width / 2) / (width / 3)) ** 2 + ((y - height / 2) / (height / 4)) ** 2 <= 1)
        mask[y * width + x] = 1;
    }
  }
  // A mask pixel on the image's border: its outline is clipped there.
  mask[width - 1] = 1;
  return { gray: { data: gray, width, height }, mask: { data: mask, width, height } };
}

test('renderGradingOverlay: the image in gray, the outline in yellow where the mask meets its outside, pixel for pixel', async () => {
  for (const [w, h] of [
    [97, 33],
    [64, 48],
    [3, 5],
  ] as const) {
    const { gray, mask } = sample(w, h);
    const png = await renderGradingOverlay({ gray, mask, fat: null, lines: [] });
    const out = await decodeRaster(png);
    assert.deepEqual([out.width, out.height, out.channels], [w, h, 3]);
    const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && mask.data[y * w + x] === 1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const here = inside(x, y);
        const edge = [inside(x - 1, y), inside(x + 1, y), inside(x, y - 1), inside(x, y + 1)].some(
          (n) => n !== here,
        );
        const v = gray.data[y * w + x]!;
        const want = edge ? [255, 214, 0] : [v, v, v];
        const p = (y * w + x) * 3;
        assert.deepEqual([...out.data.subarray(p, p + 3)], want, `${w}×${h} at (${x}, ${y})`);
      }
    }
  }
});
