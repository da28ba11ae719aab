import { fileURLToPath } from 'node:url';
import type { GrayImage } from './gray-image.ts';

/** The shared reference scans (never copied into the repo): <repo>/../shared/reference-scans/. */
export const REFERENCE_DIR = fileURLToPath(new URL('../../../../shared/reference-scans/', import.meta.url));
export const USTOOL_BMP = `${REFERENCE_DIR}ustool-109A.bmp`;
export const HZAU_PNG = `${REFERENCE_DIR}hzau-201615.png`;
/** The real negative: a longitudinal backfat view over the ribs, same scanner and settings as HZAU_PNG. */
export const HZAU_BACKFAT_PNG = `${REFERENCE_DIR}hzau-1518-backfat.png`;
/** Approximate ribeye boxes from the reference README. */
export const USTOOL_BOX: [number, number, number, number] = [28, 35, 200, 97];
export const HZAU_BOX: [number, number, number, number] = [165, 120, 690, 305];

/** A deterministic test pattern: gradient + checkerboard detail. */
export function pattern(width: number, height: number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      data[y * width + x] = (((x >> 2) + (y >> 2)) & 1 ? 180 : 60) + (((x * 50) / width) | 0);
  }
  return { data, width, height };
}

/** Separable box blur with radius r (for "blurred is less sharp" checks). */
export function boxBlur(g: GrayImage, r: number): GrayImage {
  const tmp = new Float32Array(g.data.length);
  const out = new Uint8Array(g.data.length);
  const { width: w, height: h } = g;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += g.data[y * w + Math.min(w - 1, Math.max(0, x + t))]!;
      tmp[y * w + x] = s / (2 * r + 1);
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += tmp[Math.min(h - 1, Math.max(0, y + t)) * w + x]!;
      out[y * w + x] = Math.round(s / (2 * r + 1));
    }
  }
  return { data: out, width: w, height: h };
}
