import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRaster } from '@cti/imaging';
import type { FatPositionFeature } from './grading-features.ts';
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

test('renderGradingOverlay: the image in gray (the top levels 253 and 255 shown as 254), the outline in yellow where the mask meets its outside, pixel for pixel', async () => {
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
        const shown = v >= 253 ? 254 : v;
        const want = edge ? [255, 214, 0] : [shown, shown, shown];
        const p = (y * w + x) * 3;
        assert.deepEqual([...out.data.subarray(p, p + 3)], want, `${w}×${h} at (${x}, ${y})`);
      }
    }
  }
});

test('renderGradingOverlay: the fat line in cyan with its end caps, the caption white on the image darkened to 30 %', async () => {
  const w = 120;
  const h = 90;
  const gray = { data: new Uint8Array(w * h).fill(200), width: w, height: h };
  const mask = { data: new Uint8Array(w * h), width: w, height: h };
  const fat: FatPositionFeature = {
    ...{ x_px: 60, skin_y_px: 5, ribeye_top_y_px: 30, band_half_width_px: 3, from_medial: 0.75 },
    ...{ medial_side: 'left', cut_off: false, spread_px: null, span: null },
  };
  const png = await renderGradingOverlay({ gray, mask, fat, lines: ['REA 1'] });
  assert.equal(png[25], 3, 'colour type 3: a palette PNG');
  const out = await decodeRaster(png);
  const at = (x: number, y: number) => [...out.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
  assert.deepEqual(at(60, 17), [0, 220, 255], 'the line');
  assert.deepEqual(at(56, 5), [0, 220, 255], 'the cap at the skin');
  assert.deepEqual(at(64, 30), [0, 220, 255], 'the cap at the ribeye');
  assert.deepEqual(at(90, 17), [200, 200, 200], 'beside it, the image');
  // The box of one line at scale 1 is 13 rows tall and wider than 20 columns.
  const caption = Array.from({ length: 13 * 20 }, (_, i) => at(i % 20, h - 13 + Math.floor(i / 20)));
  const values = new Set(caption.map(([r, g, b]) => `${r},${g},${b}`));
  assert.deepEqual([...values].sort(), ['254,254,254', '60,60,60'], 'white text on 30 % of 200');
});

test('renderGradingOverlay: speckle alone (Huffman-coded) and speckle between black margins (run-length coded) both decode to the image, pixel for pixel', async () => {
  const w = 160;
  const h = 120;
  let seed = 7;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (const margin of [0, 40]) {
    const gray = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = margin; x < w - margin; x++) gray[y * w + x] = 20 + Math.floor(next() * 200);
    const mask = { data: new Uint8Array(w * h), width: w, height: h };
    const png = await renderGradingOverlay({
      gray: { data: gray, width: w, height: h },
      mask,
      fat: null,
      lines: [],
    });
    const out = await decodeRaster(png);
    for (let i = 0; i < w * h; i++)
      assert.deepEqual(
        [...out.data.subarray(i * 3, i * 3 + 3)],
        [gray[i]!, gray[i]!, gray[i]!],
        `margin ${margin}, pixel ${i}`,
      );
  }
});

test('renderGradingOverlay: one overlay after another shows only its own image (the scanlines are a kept buffer), at sizes whose rows are and are not whole 32-bit words', async () => {
  for (const [w, h] of [
    [64, 48],
    [97, 33],
    [64, 48],
    [3, 5],
  ] as const) {
    for (const level of [40, 180]) {
      const gray = { data: new Uint8Array(w * h).fill(level), width: w, height: h };
      gray.data[w + 1] = 255;
      const mask = { data: new Uint8Array(w * h), width: w, height: h };
      const out = await decodeRaster(await renderGradingOverlay({ gray, mask, fat: null, lines: [] }));
      const want = Uint8Array.from({ length: w * h * 3 }, (_, i) =>
        Math.floor(i / 3) === w + 1 ? 254 : level,
      );
      assert.deepEqual(out.data, want, `${w}×${h} at level ${level}`);
    }
  }
});
