/** Deterministic synthetic images for tests (no real scans in the repository). */
import { createRng, type GrayImage } from '@cti/imaging';
import sharp from 'sharp';

/** A B-mode-like picture: speckle, two bright curved interfaces, a darker lens region, black margins. */
export function syntheticScan(opts: {
  width: number;
  height: number;
  seed?: number;
  margin?: number;
}): GrayImage {
  const { width: w, height: h, margin = 0 } = opts;
  const rng = createRng(opts.seed ?? 1);
  const rnd = () => rng.next();
  const data = new Uint8Array(w * h);
  for (let y = margin; y < h - margin; y++) {
    for (let x = margin; x < w - margin; x++) {
      const u = (x - margin) / (w - 2 * margin);
      const v = (y - margin) / (h - 2 * margin);
      const skin = 0.12 + 0.05 * (u - 0.5) ** 2;
      let level = 70 + 60 * rnd() - 40 * v;
      if (Math.abs(v - skin) < 0.012 || Math.abs(v - skin - 0.08) < 0.01) level = 230;
      const e = ((u - 0.45) / 0.3) ** 2 + ((v - 0.38) / 0.14) ** 2;
      if (e < 1) level = 45 + 40 * rnd() + (rnd() < 0.03 ? 120 : 0);
      data[y * w + x] = Math.max(0, Math.min(255, Math.round(level)));
    }
  }
  return { data, width: w, height: h };
}

/** Pads a gray image with black: left/top/right/bottom pixels. */
export function padGray(img: GrayImage, left: number, top: number, right: number, bottom: number): GrayImage {
  const width = img.width + left + right;
  const height = img.height + top + bottom;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray(y * img.width, (y + 1) * img.width), (y + top) * width + left);
  }
  return { data, width, height };
}

/** Gray -> RGB with a slight tint (so the RGB -> gray step is exercised). */
export function tintedRgb(img: GrayImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.data.length; i++) {
    const g = img.data[i]!;
    out.set([Math.min(255, g + 6), g, Math.max(0, g - 9)], i * 3);
  }
  return out;
}

export async function encodePng(img: GrayImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

export async function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

function bmpHeaders(
  width: number,
  height: number,
  bpp: number,
  paletteBytes: number,
  stride: number,
): Buffer {
  const offset = 54 + paletteBytes;
  const b = Buffer.alloc(offset);
  b.write('BM', 0, 'ascii');
  b.writeUInt32LE(offset + stride * height, 2);
  b.writeUInt32LE(offset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22); // positive: bottom-up rows
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bpp, 28);
  b.writeUInt32LE(stride * height, 34);
  return b;
}

/** 8-bit gray-palette BMP (like the 309x213 scanner crops). */
export function encodeBmp8(img: GrayImage): Buffer {
  const stride = Math.ceil(img.width / 4) * 4;
  const head = bmpHeaders(img.width, img.height, 8, 1024, stride);
  head.writeUInt32LE(256, 46);
  for (let i = 0; i < 256; i++) head.writeUInt32LE(i | (i << 8) | (i << 16), 54 + i * 4);
  const pixels = Buffer.alloc(stride * img.height);
  for (let y = 0; y < img.height; y++) {
    const row = (img.height - 1 - y) * stride;
    pixels.set(img.data.subarray(y * img.width, (y + 1) * img.width), row);
  }
  return Buffer.concat([head, pixels]);
}

/** 24-bit BGR BMP. */
export function encodeBmp24(rgb: Uint8Array, width: number, height: number): Buffer {
  const stride = Math.ceil((width * 3) / 4) * 4;
  const head = bmpHeaders(width, height, 24, 0, stride);
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const row = (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      pixels.set([rgb[p + 2]!, rgb[p + 1]!, rgb[p]!], row + x * 3);
    }
  }
  return Buffer.concat([head, pixels]);
}
