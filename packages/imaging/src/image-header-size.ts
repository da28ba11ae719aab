import { isBmp } from './bmp-decode.ts';

export type ImageSize = { width: number; height: number };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// JPEG start-of-frame markers (baseline, progressive, lossless…), not DHT (C4), JPG (C8) or DAC (CC).
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Width and height as the header of a PNG (IHDR), a JPEG (the first SOF segment) or a BMP (its info
 * header; OS/2 core headers hold 16-bit sizes, the others 32-bit, negative height when top-down)
 * declares them, without decoding a pixel; undefined for anything else, a header cut short or a zero
 * side. A JPEG whose EXIF orientation turns it a quarter (5–8) gives the size a viewer shows, the
 * size decodeRaster returns. Only what the format puts first is read, so the first 64 KiB are enough —
 * and an image that declares 16000×16000 in 750 kB can be refused before its decoder allocates 768 MB.
 *
 * @example imageHeaderSize(pngBytes) // { width: 640, height: 480 }
 */
export function imageHeaderSize(bytes: Uint8Array): ImageSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    const chunk = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
    return chunk === 'IHDR' ? positive(view.getUint32(16), view.getUint32(20)) : undefined;
  }
  if (isBmp(bytes)) {
    if (bytes.length < 26) return undefined;
    const core = view.getUint32(14, true) === 12;
    const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
    const height = core ? view.getUint16(20, true) : view.getInt32(22, true);
    return positive(Math.abs(width), Math.abs(height));
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  let turned = false;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = view.getUint16(at + 2);
    if (marker === 0xe1) turned ||= quarterTurn(view, at + 4, Math.min(at + 2 + length, bytes.length));
    if (SOF.has(marker)) {
      if (at + 9 > bytes.length) return undefined;
      const [width, height] = [view.getUint16(at + 7), view.getUint16(at + 5)];
      return turned ? positive(height, width) : positive(width, height);
    }
    at += 2 + length;
  }
  return undefined;
}

/**
 * Does this APP1 segment (payload from `start` to `end`) hold EXIF whose IFD0 orientation is 5–8, a
 * quarter turn (transpose, 90° clockwise, transverse, 90° anticlockwise)? Anything malformed: no.
 */
function quarterTurn(view: DataView, start: number, end: number): boolean {
  const exif = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"
  if (end - start < 14 || exif.some((b, i) => view.getUint8(start + i) !== b)) return false;
  const tiff = start + 6;
  const order = view.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return false;
  const little = order === 0x4949;
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return false;
  const count = view.getUint16(ifd, little);
  for (let i = 0, entry = ifd + 2; i < count && entry + 12 <= end; i++, entry += 12) {
    if (view.getUint16(entry, little) === 0x0112) {
      const orientation = view.getUint16(entry + 8, little);
      return orientation >= 5 && orientation <= 8;
    }
  }
  return false;
}

const positive = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : undefined);
