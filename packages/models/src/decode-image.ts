/**
 * Encoded bytes -> 8-bit raster. PNG/JPEG (and the other formats sharp reads) go through sharp;
 * BMP, which sharp cannot read, through a small decoder here. Alpha is dropped (not composited),
 * matching PIL's convert('RGB') / convert('L') used by the Python trainer.
 */
import type { RasterImage } from '@cti/imaging';
import sharp from 'sharp';

export class DecodeError extends Error {}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function i32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

type BmpHeader = {
  offset: number;
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  headerSize: number;
};

function bmpHeader(b: Uint8Array): BmpHeader {
  if (b.length < 54) throw new DecodeError('truncated BMP header');
  const headerSize = u32(b, 14);
  if (headerSize < 40) throw new DecodeError(`unsupported BMP header size ${headerSize} (OS/2 bitmaps)`);
  const width = i32(b, 18);
  const rawHeight = i32(b, 22);
  const bpp = u16(b, 28);
  const compression = u32(b, 30);
  const bitfields32 = compression === 3 && bpp === 32; // only the standard BGRA masks are assumed
  if (compression !== 0 && !bitfields32)
    throw new DecodeError(`compressed BMP (method ${compression}) unsupported`);
  if (![1, 4, 8, 24, 32].includes(bpp)) throw new DecodeError(`unsupported BMP bit depth ${bpp}`);
  if (width <= 0 || rawHeight === 0) throw new DecodeError(`invalid BMP size ${width}x${rawHeight}`);
  return { offset: u32(b, 10), width, height: Math.abs(rawHeight), topDown: rawHeight < 0, bpp, headerSize };
}

/** Uncompressed 1/4/8-bit palette, 24-bit and 32-bit BMP -> RGB raster. */
export function decodeBmp(b: Uint8Array): RasterImage {
  const h = bmpHeader(b);
  const stride = Math.ceil((h.width * h.bpp) / 32) * 4;
  if (h.offset + stride * h.height > b.length) throw new DecodeError('truncated BMP pixel data');
  const paletteAt = 14 + h.headerSize;
  const out = new Uint8Array(h.width * h.height * 3);
  for (let y = 0; y < h.height; y++) {
    const row = h.offset + (h.topDown ? y : h.height - 1 - y) * stride;
    for (let x = 0; x < h.width; x++) {
      const o = (y * h.width + x) * 3;
      if (h.bpp >= 24) {
        const p = row + x * (h.bpp / 8);
        out[o] = b[p + 2]!;
        out[o + 1] = b[p + 1]!;
        out[o + 2] = b[p]!;
        continue;
      }
      const bit = x * h.bpp;
      const index = (b[row + (bit >> 3)]! >> (8 - h.bpp - (bit & 7))) & ((1 << h.bpp) - 1);
      const p = paletteAt + index * 4;
      if (p + 2 >= h.offset) throw new DecodeError(`BMP palette index ${index} out of range`);
      out[o] = b[p + 2]!;
      out[o + 1] = b[p + 1]!;
      out[o + 2] = b[p]!;
    }
  }
  return { data: out, width: h.width, height: h.height, channels: 3 };
}

async function decodeWithSharp(bytes: Uint8Array): Promise<RasterImage> {
  const { data, info } = await sharp(bytes, { failOn: 'error' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  if (channels === 1 || channels === 3) return { data: new Uint8Array(data), width, height, channels };
  const keep = channels === 2 ? 1 : 3; // drop the alpha channel
  const out = new Uint8Array(width * height * keep);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < keep; c++) out[i * keep + c] = data[i * channels + c]!;
  }
  return { data: out, width, height, channels: keep as 1 | 3 };
}

export async function decodeRaster(bytes: Uint8Array): Promise<RasterImage> {
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return decodeBmp(bytes);
  return decodeWithSharp(bytes);
}
