import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// The browser module itself, imported by Node: the same code the page runs.
import { fillEnclosed, maskToRgba, paintSegment, rgbaToMask } from './static/js/mask-raster.js';

const W = 20;
const H = 12;
const ones = (mask: Uint8Array) => [...mask].reduce((a, b) => a + b, 0);

describe('mask raster operations', () => {
  it('paints exactly the pixels whose centre is within the radius of the segment', () => {
    const mask = new Uint8Array(W * H);
    paintSegment(mask, W, H, 5, 6, 15, 6, 2, 1);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const [px, py] = [x + 0.5, y + 0.5];
        const t = Math.max(0, Math.min(1, (px - 5) / 10));
        const d2 = (5 + 10 * t - px) ** 2 + (6 - py) ** 2;
        assert.equal(mask[y * W + x], d2 <= 4 ? 1 : 0, `pixel ${x},${y}`);
      }
    }
  });

  it('a dot is a disc; erasing clears; painting is clipped to the image', () => {
    const mask = new Uint8Array(W * H);
    paintSegment(mask, W, H, 10, 6, 10, 6, 1, 1);
    assert.deepEqual(
      [...mask.keys()].filter((i) => mask[i]).map((i) => [i % W, Math.floor(i / W)]),
      [
        [9, 5],
        [10, 5],
        [9, 6],
        [10, 6],
      ],
    );
    paintSegment(mask, W, H, 9.5, 5.5, 9.5, 5.5, 0.5, 0);
    assert.equal(ones(mask), 3);
    assert.doesNotThrow(() => paintSegment(mask, W, H, -50, -50, 100, 100, 3, 1));
    assert.equal(paintSegment(mask, W, H, -50, -50, -40, -40, 2, 1), null);
  });

  it('fills the inside of a closed outline and nothing outside it', () => {
    const mask = new Uint8Array(W * H);
    // A 1-pixel rectangle outline from (3,2) to (12,9).
    for (let x = 3; x <= 12; x++) mask[2 * W + x] = mask[9 * W + x] = 1;
    for (let y = 2; y <= 9; y++) mask[y * W + 3] = mask[y * W + 12] = 1;
    assert.equal(fillEnclosed(mask, W, H), 8 * 6);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++)
        assert.equal(mask[y * W + x], x >= 3 && x <= 12 && y >= 2 && y <= 9 ? 1 : 0);
    }
  });

  it('does not fill an open outline', () => {
    const mask = new Uint8Array(W * H);
    for (let x = 3; x <= 12; x++) mask[2 * W + x] = mask[9 * W + x] = 1;
    for (let y = 2; y <= 9; y++) mask[y * W + 3] = 1; // right side missing
    assert.equal(fillEnclosed(mask, W, H), 0);
  });

  it('converts to and from opaque black/white RGBA', () => {
    const mask = new Uint8Array([0, 1, 1, 0]);
    const rgba = maskToRgba(mask);
    assert.deepEqual([...rgba], [0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255]);
    assert.deepEqual([...rgbaToMask(rgba)], [0, 1, 1, 0]);
  });
});
