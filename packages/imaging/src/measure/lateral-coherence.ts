import type { GrayImage } from '../gray-image.ts';
import { createScratchBuffer } from '../scratch-buffer.ts';
import { type BinaryMask, columnSpans } from './mask-geometry.ts';

/** The summed-area table's memory, kept from one call to the next (up to 4 MiB). */
const integralScratch = createScratchBuffer(Float64Array);

/**
 * Summed-area table of the w×h window of `gray` at (bx, by), (w+1)×(h+1) entries. Sums of bytes, so
 * every entry is an integer held exactly (below 2^53) whatever the order it was added in. In kept
 * memory (lateralCoherence reads it only before it returns, and every entry is written: row 0 and
 * column 0 are the zeros): a fresh ~270 kB table per grading was one more buffer outside V8's heap to
 * allocate, zero and collect.
 */
function integralOf(gray: GrayImage, bx: number, by: number, w: number, h: number): Float64Array {
  return fillIntegral(integralScratch.take((w + 1) * (h + 1)), gray, bx, by, w, h);
}

function fillIntegral(
  integral: Float64Array,
  gray: GrayImage,
  bx: number,
  by: number,
  w: number,
  h: number,
): Float64Array {
  const { data, width: stride } = gray;
  integral.fill(0, 0, w + 1);
  for (let y = 0; y < h; y++) {
    const src = (y + by) * stride + bx;
    const above = y * (w + 1) + 1;
    const at = above + w + 1;
    integral[at - 1] = 0;
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += data[src + x]!;
      integral[at + x] = integral[above + x]! + row;
    }
  }
  return integral;
}

/** Box sum over rows [ya, yb) and columns [xa, xb) from a summed-area table of row length w + 1. */
function boxSum(integral: Float64Array, w: number, ya: number, yb: number, xa: number, xb: number): number {
  const top = ya * (w + 1);
  const bottom = yb * (w + 1);
  return integral[bottom + xb]! - integral[top + xb]! - integral[bottom + xa]! + integral[top + xa]!;
}

/**
 * Texture at (x, y): the 3×3 box mean minus the box mean over radius r, both clipped to the w×h
 * window (edges use the pixels available).
 */
function textureAt(integral: Float64Array, w: number, h: number, x: number, y: number, r: number): number {
  const ya = Math.max(0, y - 1);
  const yb = Math.min(h, y + 2);
  const xa = Math.max(0, x - 1);
  const xb = Math.min(w, x + 2);
  const Ya = Math.max(0, y - r);
  const Yb = Math.min(h, y + r + 1);
  const Xa = Math.max(0, x - r);
  const Xb = Math.min(w, x + r + 1);
  return (
    boxSum(integral, w, ya, yb, xa, xb) / ((yb - ya) * (xb - xa)) -
    boxSum(integral, w, Ya, Yb, Xa, Xb) / ((Yb - Ya) * (Xb - Xa))
  );
}

/**
 * Lateral texture coherence inside the mask: the correlation of the texture (3×3 mean minus a local
 * mean over 1/12 of the mask's width) with itself shifted sideways by 8 % of the mask's width
 * (≈ 1 cm on a ribeye). Speckle and the mottled, criss-crossed septa of a muscle cut across its
 * fibres decorrelate over that distance (≈ 0.25–0.4 on real transverse scans); a muscle cut along its
 * fibres shows long parallel streaks that stay correlated (≈ 0.6–0.7 on a real longitudinal backfat
 * scan). Null when the mask is too small to measure (< 3 pairs of columns at that lag).
 *
 * @example if ((lateralCoherence(gray, mask) ?? 0) > 0.6) reasons.push('fibres run along the image');
 */
export function lateralCoherence(gray: GrayImage, mask: BinaryMask): number | null {
  const spans = columnSpans(mask);
  if (!spans) return null;
  const mw = spans.x1 - spans.x0;
  const [, y0, , y1] = spans.bbox;
  const r = Math.max(2, Math.round(mw / 12));
  // Work on the mask's box plus the local-mean radius, so the texture at its edges is measured right.
  const bx0 = Math.max(0, spans.x0 - r);
  const bx1 = Math.min(gray.width, spans.x1 + r);
  const by0 = Math.max(0, y0 - r);
  const by1 = Math.min(gray.height, y1 + r);
  const w = bx1 - bx0;
  const h = by1 - by0;
  const integral = integralOf(gray, bx0, by0, w, h);
  const lag = Math.max(1, Math.round(0.08 * mw));
  let cross = 0;
  let energy = 0;
  let pairs = 0;
  // Each row's texture once per mask pixel (a pixel is the left end of one pair and the right end of
  // another), then the pairs in the same order as before: the sums are the same floating-point values.
  const rowTexture = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    const row = (y + by0) * gray.width + bx0;
    for (let x = 0; x < w; x++)
      if (mask.data[row + x] === 1) rowTexture[x] = textureAt(integral, w, h, x, y, r);
    for (let x = 0; x + lag < w; x++) {
      const ia = row + x;
      if (mask.data[ia] !== 1 || mask.data[ia + lag] !== 1) continue;
      const a = rowTexture[x]!;
      const b = rowTexture[x + lag]!;
      cross += a * b;
      energy += a * a;
      pairs++;
    }
  }
  if (pairs < 3 * Math.max(1, y1 - y0) || energy === 0) return null;
  return cross / energy;
}
