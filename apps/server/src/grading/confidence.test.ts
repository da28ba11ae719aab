import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnSpans, createRng, type GrayImage } from '@cti/imaging';
import type { Mask } from '@cti/models';
import { edgeQuality } from './confidence.ts';

const ramp = (v: number, bad: number, good: number) => Math.max(0, Math.min(1, (v - bad) / (good - bad)));
const round = (v: number, d = 4) => Math.round(v * 10 ** d) / 10 ** d;

/**
 * edgeQuality as it was, with both Float32 planes over the mask's box: the definition the rolling rows
 * must reproduce value for value.
 */
function edgeQualityWhole(gray: GrayImage, mask: Mask): { ratio: number; score: number } | null {
  const spans = columnSpans(mask);
  if (!spans) return null;
  const { width: w, height: h } = gray;
  // The 3×3 mean over the mask's box plus a 2-pixel rim, by separable running sums.
  const rx0 = Math.max(0, spans.bbox[0] - 2);
  const ry0 = Math.max(0, spans.bbox[1] - 2);
  const rw = Math.min(w, spans.bbox[2] + 2) - rx0;
  const rh = Math.min(h, spans.bbox[3] + 2) - ry0;
  const rows = new Float32Array(rw * rh);
  for (let y = 0; y < rh; y++) {
    const src = (y + ry0) * w + rx0;
    for (let x = 0; x < rw; x++) {
      rows[y * rw + x] =
        gray.data[src + Math.max(0, x - 1)]! +
        gray.data[src + x]! +
        gray.data[src + Math.min(rw - 1, x + 1)]!;
    }
  }
  const smooth = new Float32Array(rw * rh);
  for (let y = 0; y < rh; y++) {
    const up = Math.max(0, y - 1) * rw;
    const down = Math.min(rh - 1, y + 1) * rw;
    for (let x = 0; x < rw; x++)
      smooth[y * rw + x] = (rows[up + x]! + rows[y * rw + x]! + rows[down + x]!) / 9;
  }
  const m = mask.data;
  let edgeSum = 0;
  let edgeN = 0;
  let innerSum = 0;
  let innerN = 0;
  // x ≥ 1 and y ≥ 1 here, so only the right and bottom neighbours can fall outside the image.
  for (let y = Math.max(1, ry0 + 1); y < ry0 + rh - 1; y++) {
    for (let x = Math.max(1, rx0 + 1); x < rx0 + rw - 1; x++) {
      const p = y * w + x;
      if (m[p] !== 1) continue;
      const i = (y - ry0) * rw + (x - rx0);
      const g = Math.abs(smooth[i + 1]! - smooth[i - 1]!) + Math.abs(smooth[i + rw]! - smooth[i - rw]!);
      if (m[p - 1] !== 1 || x + 1 >= w || m[p + 1] !== 1 || m[p - w] !== 1 || y + 1 >= h || m[p + w] !== 1) {
        edgeSum += g;
        edgeN++;
      } else {
        innerSum += g;
        innerN++;
      }
    }
  }
  if (edgeN === 0 || innerN === 0 || innerSum === 0) return null;
  const ratio = edgeSum / edgeN / (innerSum / innerN);
  return { ratio: round(ratio, 3), score: round(ramp(ratio, 1, 2)) };
}

/** A blob mask (a few overlapping discs, holes and specks) somewhere in the frame, edges included. */
function blobMask(rng: ReturnType<typeof createRng>, width: number, height: number): Mask {
  const data = new Uint8Array(width * height);
  for (let d = rng.int(1, 4); d > 0; d--) {
    const cx = rng.range(-5, width + 5);
    const cy = rng.range(-5, height + 5);
    const r = rng.range(1, Math.max(width, height) / 2);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) data[y * width + x] = 1;
  }
  for (let s = rng.int(0, 20); s > 0; s--) data[rng.int(0, width * height - 1)] = rng.chance(0.5) ? 1 : 2;
  return { data, width, height };
}

test('edgeQuality in rolling rows gives, value for value, what the whole-box computation gave (random images, blob masks on the borders, slivers)', () => {
  const rng = createRng(4848);
  let compared = 0;
  for (let n = 0; n < 300; n++) {
    const width = rng.int(1, 70);
    const height = rng.int(1, 50);
    const gray: GrayImage = { data: new Uint8Array(width * height), width, height };
    const smoothness = rng.pick([1, 4, 16]);
    for (let i = 0; i < gray.data.length; i++)
      gray.data[i] = (rng.int(0, 255) / smoothness + ((i % width) * 255) / width) & 255;
    const mask = blobMask(rng, width, height);
    const expected = edgeQualityWhole(gray, mask);
    assert.deepEqual(edgeQuality(gray, mask), expected, `image ${n} (${width}×${height})`);
    if (expected) compared++;
  }
  assert.ok(compared > 100, `${compared} masks with an edge and an inside`);
  // A mask of a single row or column, and an empty one.
  const g: GrayImage = { data: new Uint8Array(400).map((_, i) => (i * 37) & 255), width: 20, height: 20 };
  for (const cells of [[0, 1, 2], [5, 25, 45, 65], []]) {
    const data = new Uint8Array(400);
    for (const c of cells) data[c] = 1;
    const mask = { data, width: 20, height: 20 };
    assert.deepEqual(edgeQuality(g, mask), edgeQualityWhole(g, mask));
  }
});
