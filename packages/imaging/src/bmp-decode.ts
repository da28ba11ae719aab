import type { GrayImage } from './gray-image.ts';
import { ImageDecodeError } from './image-decode-error.ts';

/** True when the bytes start with the BMP signature "BM". */
export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

/**
 * Decode an uncompressed BMP (8-bit palette, 24-bit BGR, 32-bit BGRX/BGRA; bottom-up or top-down)
 * to gray with Rec. 601 luma. sharp/libvips cannot read BMP, and some scanners export only BMP.
 * Anything else (RLE, 1/4/16-bit, odd bitfields) gets an ImageDecodeError naming what it found.
 *
 * @example
 * const gray = decodeBmp(await readFile('scan.bmp'));
 */
export function decodeBmp(buf: Uint8Array, name = 'BMP'): GrayImage {
  if (!isBmp(buf)) throw new ImageDecodeError('not_image', `${name}: not a BMP (no "BM" signature)`);
  if (buf.length < 26)
    throw new ImageDecodeError('truncated', `${name}: BMP header truncated (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataOffset = view.getUint32(10, true);
  const dibSize = view.getUint32(14, true);
  const core = dibSize === 12;
  if (!core && (dibSize < 40 || buf.length < 14 + 40)) {
    throw new ImageDecodeError('unsupported_bmp', `${name}: unsupported BMP header size ${dibSize}`);
  }
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const rawHeight = core ? view.getInt16(20, true) : view.getInt32(22, true);
  const bpp = view.getUint16(core ? 24 : 28, true);
  const compression = core ? 0 : view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height <= 0 || width * height > 100e6) {
    throw new ImageDecodeError('unsupported_bmp', `${name}: implausible BMP size ${width}×${rawHeight}`);
  }
  if (bpp !== 8 && bpp !== 24 && bpp !== 32) {
    throw new ImageDecodeError(
      'unsupported_bmp',
      `${name}: ${bpp}-bit BMP is not supported (only 8, 24 and 32-bit)`,
    );
  }
  const bitfields = compression === 3 && bpp === 32 && standardMasks(view, dibSize);
  if (compression !== 0 && !bitfields) {
    throw new ImageDecodeError(
      'unsupported_bmp',
      `${name}: compressed BMP (compression ${compression}) is not supported`,
    );
  }
  const stride = Math.ceil((bpp * width) / 32) * 4;
  if (dataOffset + stride * (height - 1) + Math.ceil((bpp * width) / 8) > buf.length) {
    throw new ImageDecodeError(
      'truncated',
      `${name}: pixel data truncated (${buf.length} bytes for ${width}×${height}×${bpp}-bit)`,
    );
  }
  const lut = bpp === 8 ? paletteLuma(buf, view, { dibSize, core, name }) : null;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    const o = y * width;
    if (lut) {
      for (let x = 0; x < width; x++) out[o + x] = lut[buf[row + x]!]!;
    } else {
      const step = bpp / 8;
      for (let x = 0, p = row; x < width; x++, p += step)
        out[o + x] = luma(buf[p + 2]!, buf[p + 1]!, buf[p]!);
    }
  }
  return { data: out, width, height };
}

function luma(r: number, g: number, b: number): number {
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

function paletteLuma(
  buf: Uint8Array,
  view: DataView,
  o: { dibSize: number; core: boolean; name: string },
): Uint8Array {
  const used = o.core ? 0 : view.getUint32(46, true);
  const count = used === 0 ? 256 : Math.min(256, used);
  const entry = o.core ? 3 : 4;
  const start = 14 + o.dibSize;
  if (start + count * entry > buf.length)
    throw new ImageDecodeError('truncated', `${o.name}: BMP palette truncated`);
  const lut = new Uint8Array(256);
  for (let i = 0; i < count; i++) {
    const p = start + i * entry;
    lut[i] = luma(buf[p + 2]!, buf[p + 1]!, buf[p]!);
  }
  return lut;
}

/** BI_BITFIELDS with the ordinary BGRA layout is plain 32-bit in disguise. */
function standardMasks(view: DataView, dibSize: number): boolean {
  const at = dibSize >= 52 ? 54 : 14 + dibSize;
  if (at + 12 > view.byteLength) return false;
  return (
    view.getUint32(at, true) === 0xff0000 &&
    view.getUint32(at + 4, true) === 0xff00 &&
    view.getUint32(at + 8, true) === 0xff
  );
}

/** Encode gray as an 8-bit palette BMP (bottom-up): for tests and for scanners' BMP round trips. */
export function encodeBmp8(gray: GrayImage): Uint8Array {
  const stride = Math.ceil(gray.width / 4) * 4;
  const offset = 14 + 40 + 1024;
  const buf = new Uint8Array(offset + stride * gray.height);
  const view = new DataView(buf.buffer);
  buf[0] = 0x42;
  buf[1] = 0x4d;
  view.setUint32(2, buf.length, true);
  view.setUint32(10, offset, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, gray.width, true);
  view.setInt32(22, gray.height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 8, true);
  view.setUint32(34, stride * gray.height, true);
  for (let i = 0; i < 256; i++) buf.fill(i, 54 + i * 4, 54 + i * 4 + 3);
  for (let y = 0; y < gray.height; y++) {
    buf.set(
      gray.data.subarray(y * gray.width, (y + 1) * gray.width),
      offset + (gray.height - 1 - y) * stride,
    );
  }
  return buf;
}
