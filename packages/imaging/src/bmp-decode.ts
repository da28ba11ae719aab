import { type GrayImage, type RasterImage, toGray } from './gray-image.ts';
import { ImageDecodeError } from './image-decode-error.ts';

/** True when the bytes start with the BMP signature "BM". */
export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d;
}

type BmpHeader = {
  dataOffset: number;
  dibSize: number;
  core: boolean;
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  stride: number;
};

/**
 * Decode an uncompressed BMP (1/4/8-bit palette, 24-bit BGR, 32-bit BGRX/BGRA; bottom-up or
 * top-down) to an RGB raster; alpha is dropped, as PIL's convert('RGB') in the Python trainer does.
 * sharp/libvips cannot read BMP, and some scanners export only BMP. Anything else (RLE, 16-bit,
 * odd bitfields) gets an ImageDecodeError naming what it found.
 *
 * @example
 * const rgb = decodeBmpRaster(await readFile('scan.bmp'), 'scan.bmp');
 */
export function decodeBmpRaster(buf: Uint8Array, name = 'BMP'): RasterImage {
  const h = bmpHeader(buf, name);
  const palette = h.bpp <= 8 ? readPalette(buf, h, name) : null;
  const out = new Uint8Array(h.width * h.height * 3);
  for (let y = 0; y < h.height; y++) {
    const row = h.dataOffset + (h.topDown ? y : h.height - 1 - y) * h.stride;
    if (palette) paletteRow(buf, row, h, palette, out.subarray(y * h.width * 3));
    else directRow(buf, row, h, out.subarray(y * h.width * 3));
  }
  return { data: out, width: h.width, height: h.height, channels: 3 };
}

/**
 * BMP → gray with the trainer's Rec. 601 formula (toGray of decodeBmpRaster).
 *
 * @example
 * const gray = decodeBmp(await readFile('scan.bmp'));
 */
export function decodeBmp(buf: Uint8Array, name = 'BMP'): GrayImage {
  return toGray(decodeBmpRaster(buf, name));
}

function bmpHeader(buf: Uint8Array, name: string): BmpHeader {
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
  // OS/2 1.x (12-byte core header): unsigned 16-bit width and height, rows always bottom-up, as
  // imageHeaderSize and PIL read them (a height of 40000 was read as -25536: top-down, 25536 rows).
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const rawHeight = core ? view.getUint16(20, true) : view.getInt32(22, true);
  const bpp = view.getUint16(core ? 24 : 28, true);
  const compression = core ? 0 : view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0 || width * height > 100e6) {
    throw new ImageDecodeError('unsupported_bmp', `${name}: implausible BMP size ${width}×${rawHeight}`);
  }
  if (![1, 4, 8, 24, 32].includes(bpp)) {
    throw new ImageDecodeError(
      'unsupported_bmp',
      `${name}: ${bpp}-bit BMP is not supported (only 1, 4, 8, 24 and 32-bit)`,
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
  return { dataOffset, dibSize, core, width, height, topDown: rawHeight < 0, bpp, stride };
}

/** Palette as packed RGB triples; entries past the stored count stay black. */
function readPalette(buf: Uint8Array, h: BmpHeader, name: string): Uint8Array {
  const max = 1 << h.bpp;
  const used = h.core ? 0 : new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(46, true);
  const count = used === 0 ? max : Math.min(max, used);
  const entry = h.core ? 3 : 4;
  const start = 14 + h.dibSize;
  if (start + count * entry > buf.length)
    throw new ImageDecodeError('truncated', `${name}: BMP palette truncated`);
  const rgb = new Uint8Array(max * 3);
  for (let i = 0; i < count; i++) {
    const p = start + i * entry;
    rgb[i * 3] = buf[p + 2]!;
    rgb[i * 3 + 1] = buf[p + 1]!;
    rgb[i * 3 + 2] = buf[p]!;
  }
  return rgb;
}

function paletteRow(buf: Uint8Array, row: number, h: BmpHeader, palette: Uint8Array, out: Uint8Array) {
  const mask = (1 << h.bpp) - 1;
  for (let x = 0; x < h.width; x++) {
    const bit = x * h.bpp;
    const index = (buf[row + (bit >> 3)]! >> (8 - h.bpp - (bit & 7))) & mask;
    out[x * 3] = palette[index * 3]!;
    out[x * 3 + 1] = palette[index * 3 + 1]!;
    out[x * 3 + 2] = palette[index * 3 + 2]!;
  }
}

function directRow(buf: Uint8Array, row: number, h: BmpHeader, out: Uint8Array) {
  const step = h.bpp / 8;
  for (let x = 0, p = row; x < h.width; x++, p += step) {
    out[x * 3] = buf[p + 2]!;
    out[x * 3 + 1] = buf[p + 1]!;
    out[x * 3 + 2] = buf[p]!;
  }
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
