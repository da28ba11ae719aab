import type { GrayImage } from './image-decode.ts';

/**
 * Decoder for uncompressed Windows BMP (8-bit palette, 24-bit BGR, 32-bit BGRX/BI_BITFIELDS), to gray.
 * Some ultrasound consoles export BMP and sharp (libvips) cannot read it, so this small reader fills the
 * gap. Compressed (RLE) BMPs are rejected with a clear message.
 */
export function decodeBmpGray(buf: Buffer, name = 'image.bmp'): GrayImage {
  const fail = (why: string): never => {
    throw new Error(`${name}: unsupported or truncated BMP (${why})`);
  };
  if (buf.length < 54 || buf.toString('ascii', 0, 2) !== 'BM') fail('no BM header');
  const dataOffset = buf.readUInt32LE(10);
  const dibSize = buf.readUInt32LE(14);
  if (dibSize < 40) fail(`DIB header of ${dibSize} bytes`);
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const bpp = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  if (width <= 0 || rawHeight === 0) fail('empty image');
  if (!(compression === 0 || (compression === 3 && bpp === 32))) fail(`compression ${compression}`);
  if (![8, 24, 32].includes(bpp)) fail(`${bpp} bits per pixel`);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > buf.length) fail('pixel data cut short');
  const palette = bpp === 8 ? readPalette(buf, 14 + dibSize, buf.readUInt32LE(46) || 256) : null;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + stride * (topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      let v: number;
      if (palette) v = palette[buf[row + x]!] ?? 0;
      else {
        const p = row + x * (bpp / 8);
        v = luma(buf[p + 2]!, buf[p + 1]!, buf[p]!);
      }
      out[y * width + x] = v;
    }
  }
  return { data: out, width, height };
}

function luma(r: number, g: number, b: number): number {
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

function readPalette(buf: Buffer, at: number, count: number): Uint8Array {
  const palette = new Uint8Array(256);
  for (let i = 0; i < Math.min(count, 256); i++) {
    const p = at + i * 4;
    palette[i] = luma(buf[p + 2] ?? 0, buf[p + 1] ?? 0, buf[p] ?? 0);
  }
  return palette;
}

/** Encode an 8-bit gray image as a palette BMP (used by tests and the folder-drop demo). */
export function encodeBmpGray({ data, width, height }: GrayImage): Buffer {
  const stride = Math.ceil(width / 4) * 4;
  const offset = 14 + 40 + 256 * 4;
  const out = Buffer.alloc(offset + stride * height);
  out.write('BM', 0, 'ascii');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(8, 28);
  out.writeUInt32LE(256, 46);
  for (let i = 0; i < 256; i++) out.writeUInt32LE(i * 0x010101, 54 + i * 4);
  for (let y = 0; y < height; y++) {
    out.set(data.subarray(y * width, (y + 1) * width), offset + stride * (height - 1 - y));
  }
  return out;
}
