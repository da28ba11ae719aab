import type { GrayImage } from '@cti/imaging';
import type { Mask } from './mask-ops.ts';

export const GLCM_LEVELS = 32;

/** Mean gray level (0–255) of the image inside the mask; null for an empty mask. */
export function meanIntensity(image: GrayImage, mask: Mask): number | null {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] !== 1) continue;
    sum += image.data[i]!;
    n++;
  }
  return n === 0 ? null : sum / n;
}

/**
 * GLCM contrast inside the mask: gray quantised to 32 levels, horizontal neighbours at distance 1
 * (both pixels inside the mask), contrast = mean (i - j)² normalised by (levels - 1)² so it lies
 * in [0, 1]. Null when the mask has no horizontal pair.
 */
export function glcmContrast(image: GrayImage, mask: Mask): number | null {
  const { width: w, height: h } = image;
  const shift = 8 - Math.log2(GLCM_LEVELS);
  let sum = 0;
  let pairs = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x + 1 < w; x++) {
      const p = y * w + x;
      if (mask.data[p] !== 1 || mask.data[p + 1] !== 1) continue;
      const d = (image.data[p]! >> shift) - (image.data[p + 1]! >> shift);
      sum += d * d;
      pairs++;
    }
  }
  return pairs === 0 ? null : sum / pairs / (GLCM_LEVELS - 1) ** 2;
}
