import type { GrayImage } from '@cti/imaging';
import type { Mask } from './mask-ops.ts';

export const GLCM_LEVELS = 32;

/** Rows and columns to visit, [x0, y0, x1, y1] max exclusive: the mask's bounding box when known. */
export type Region = [number, number, number, number];

/** Mean gray level (0–255) of the image inside the mask; null for an empty mask. */
export function meanIntensity(image: GrayImage, mask: Mask, region?: Region): number | null {
  const [x0, y0, x1, y1] = region ?? [0, 0, image.width, image.height];
  let sum = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let i = y * image.width + x0, end = y * image.width + x1; i < end; i++) {
      if (mask.data[i] !== 1) continue;
      sum += image.data[i]!;
      n++;
    }
  }
  return n === 0 ? null : sum / n;
}

/** Haralick statistics of the horizontal, distance-1 gray-level co-occurrence matrix inside a mask. */
export type GlcmTexture = {
  /** Mean (i - j)² / (levels - 1)², in [0, 1]: 0 flat, 1 black/white alternation. */
  contrast: number;
  /** Σ p(i,j) / (1 + (i - j)²), in (0, 1]: 1 when neighbours share their level. */
  homogeneity: number;
  /** -Σ p(i,j) log2 p(i,j), bits, in [0, 10] for 32 levels: how varied the neighbour pairs are. */
  entropy: number;
};

/**
 * GLCM texture inside the mask: gray quantised to 32 levels, horizontal neighbours at distance 1
 * (both pixels inside the mask). Null when the mask has no horizontal pair. `region` (the mask's
 * bounding box) only saves time.
 */
export function glcmTexture(image: GrayImage, mask: Mask, region?: Region): GlcmTexture | null {
  const { width: w } = image;
  const [x0, y0, x1, y1] = region ?? [0, 0, image.width, image.height];
  const shift = 8 - Math.log2(GLCM_LEVELS);
  const counts = new Uint32Array(GLCM_LEVELS * GLCM_LEVELS);
  let pairs = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x + 1 < x1; x++) {
      const p = y * w + x;
      if (mask.data[p] !== 1 || mask.data[p + 1] !== 1) continue;
      counts[(image.data[p]! >> shift) * GLCM_LEVELS + (image.data[p + 1]! >> shift)]!++;
      pairs++;
    }
  }
  if (pairs === 0) return null;
  let contrast = 0;
  let homogeneity = 0;
  let entropy = 0;
  for (let i = 0; i < GLCM_LEVELS; i++) {
    for (let j = 0; j < GLCM_LEVELS; j++) {
      const n = counts[i * GLCM_LEVELS + j]!;
      if (n === 0) continue;
      const d2 = (i - j) * (i - j);
      const p = n / pairs;
      contrast += n * d2;
      homogeneity += p / (1 + d2);
      entropy -= p * Math.log2(p);
    }
  }
  return { contrast: contrast / pairs / (GLCM_LEVELS - 1) ** 2, homogeneity, entropy };
}

/**
 * GLCM contrast inside the mask (see glcmTexture): mean (i - j)² normalised by (levels - 1)² so it
 * lies in [0, 1]. Null when the mask has no horizontal pair.
 */
export function glcmContrast(image: GrayImage, mask: Mask): number | null {
  return glcmTexture(image, mask)?.contrast ?? null;
}
