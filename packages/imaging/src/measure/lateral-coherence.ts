import type { GrayImage } from '../gray-image.ts';
import { type BinaryMask, columnSpans } from './mask-geometry.ts';

/** Summed-area table of `src` (w×h), (w+1)×(h+1) entries. */
function integralOf(src: Float32Array, w: number, h: number): Float64Array {
  const integral = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += src[y * w + x]!;
      integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1]! + row;
    }
  }
  return integral;
}

/** Box mean at (x, y) with radius r from a summed-area table; edges use the pixels available. */
function boxMeanAt(integral: Float64Array, w: number, h: number, x: number, y: number, r: number): number {
  const ya = Math.max(0, y - r);
  const yb = Math.min(h, y + r + 1);
  const xa = Math.max(0, x - r);
  const xb = Math.min(w, x + r + 1);
  const sum =
    integral[yb * (w + 1) + xb]! -
    integral[ya * (w + 1) + xb]! -
    integral[yb * (w + 1) + xa]! +
    integral[ya * (w + 1) + xa]!;
  return sum / ((yb - ya) * (xb - xa));
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
  const region = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) region[y * w + x] = gray.data[(y + by0) * gray.width + x + bx0]!;
  }
  const integral = integralOf(region, w, h);
  // Texture at (x, y): 3×3 mean minus the local mean over radius r, evaluated where needed.
  const texture = (x: number, y: number) =>
    boxMeanAt(integral, w, h, x, y, 1) - boxMeanAt(integral, w, h, x, y, r);
  const lag = Math.max(1, Math.round(0.08 * mw));
  let cross = 0;
  let energy = 0;
  let pairs = 0;
  // Each row's texture once per mask pixel (a pixel is the left end of one pair and the right end of
  // another), then the pairs in the same order as before: the sums are the same floating-point values.
  const rowTexture = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    const row = (y + by0) * gray.width + bx0;
    for (let x = 0; x < w; x++) if (mask.data[row + x] === 1) rowTexture[x] = texture(x, y);
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
