import { writeFile } from 'node:fs/promises';
import type { GrayImage } from '@cti/imaging';
import sharp from 'sharp';
import type { Mask } from './mask-ops.ts';

/** The mask as an 8-bit grayscale PNG (0 / 255), fast zlib level (masks compress well anyway). */
export async function encodeMaskPng(mask: Mask): Promise<Buffer> {
  const data = new Uint8Array(mask.data.length);
  for (let i = 0; i < data.length; i++) data[i] = mask.data[i] === 1 ? 255 : 0;
  return sharp(data, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 4, adaptiveFiltering: false })
    .toBuffer();
}

/** Writes the mask as an 8-bit grayscale PNG (0 / 255). */
export async function writeMaskPng(mask: Mask, path: string): Promise<void> {
  await writeFile(path, await encodeMaskPng(mask));
}

/** Writes the gray image with the mask tinted green and its outline in yellow, as an RGB PNG. */
export async function writeOverlayPng(image: GrayImage, mask: Mask, path: string): Promise<void> {
  const { width: w, height: h } = image;
  const rgb = new Uint8Array(w * h * 3);
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && mask.data[y * w + x] === 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const g = image.data[y * w + x]!;
      const p = (y * w + x) * 3;
      if (!inside(x, y)) {
        rgb.set([g, g, g], p);
      } else if (!inside(x - 1, y) || !inside(x + 1, y) || !inside(x, y - 1) || !inside(x, y + 1)) {
        rgb.set([255, 220, 0], p);
      } else {
        rgb.set([Math.round(g * 0.6), Math.min(255, Math.round(g * 0.6 + 90)), Math.round(g * 0.6)], p);
      }
    }
  }
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(path);
}
