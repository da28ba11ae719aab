import type { RasterImage } from '../gray-image.ts';
import { type DicomDataset, decimals, dicomError, tag, uint16 } from './dicom-dataset.ts';
import type { StoredFrame } from './last-frame.ts';
import { type PixelFormat, T } from './pixel-format.ts';

/**
 * A stored frame as an 8-bit raster: gray (MONOCHROME2; MONOCHROME1 inverted; 16-bit — or 8-bit with
 * fewer Bits Stored, or signed — masked to Bits Stored, rescaled, and windowed by the file's first
 * Window Center/Width, else stretched over the frame's own range),
 * RGB (interleaved or planar), YBR_FULL / YBR_FULL_422 converted to RGB (JFIF full-range formula),
 * PALETTE COLOR through its red, green and blue tables.
 *
 * @example const raster = storedToRaster(stored, format, dataset, 'IM0001');
 */
export function storedToRaster(
  stored: StoredFrame,
  f: PixelFormat,
  ds: DicomDataset,
  name: string,
): RasterImage {
  const { rows: height, columns: width } = f;
  if (stored.kind === 'decoded') {
    const { image } = stored;
    return f.photometric === 'MONOCHROME1' && image.channels === 1
      ? { ...image, data: invert(image.data) }
      : image;
  }
  const { bytes, planar } = stored;
  const count = width * height;
  if (f.photometric.startsWith('MONOCHROME')) {
    // 8-bit as stored unless its bits need masking or sign (then it goes the 16-bit way: its range, or its window).
    const plain = f.bitsAllocated === 8 && f.bitsStored === 8 && !f.signed;
    const gray = plain ? bytes.slice(0, count) : windowGray(bytes, f, ds);
    return { data: f.photometric === 'MONOCHROME1' ? invert(gray) : gray, width, height, channels: 1 };
  }
  if (f.photometric === 'PALETTE COLOR')
    return { data: palette(bytes.subarray(0, count), ds, name), width, height, channels: 3 };
  if (f.photometric === 'YBR_FULL_422' && planar === 0) {
    if (width % 2 !== 0)
      throw dicomError('not_image', name, `DICOM YBR_FULL_422 with an odd width (${width})`);
    return { data: ybr422ToRgb(bytes, count), width, height, channels: 3 };
  }
  const rgb = new Uint8Array(3 * count);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = bytes[planar === 1 ? c * count + i : 3 * i + c]!;
  }
  if (f.photometric !== 'RGB')
    for (let p = 0; p < rgb.length; p += 3) ybrToRgb(rgb, p, rgb[p]!, rgb[p + 1]!, rgb[p + 2]!);
  return { data: rgb, width, height, channels: 3 };
}

const invert = (gray: Uint8Array) => gray.map((v) => 255 - v);
const clamp8 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** Y Cb Cr (full range) → R G B into `out` at `p`. */
function ybrToRgb(out: Uint8Array, p: number, y: number, cb: number, cr: number): void {
  out[p] = clamp8(y + 1.402 * (cr - 128));
  out[p + 1] = clamp8(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
  out[p + 2] = clamp8(y + 1.772 * (cb - 128));
}

function ybr422ToRgb(bytes: Uint8Array, count: number): Uint8Array {
  const rgb = new Uint8Array(3 * count);
  for (let pair = 0; pair < count / 2; pair++) {
    const [y1, y2, cb, cr] = [
      bytes[4 * pair]!,
      bytes[4 * pair + 1]!,
      bytes[4 * pair + 2]!,
      bytes[4 * pair + 3]!,
    ];
    ybrToRgb(rgb, 6 * pair, y1, cb, cr);
    ybrToRgb(rgb, 6 * pair + 3, y2, cb, cr);
  }
  return rgb;
}

/**
 * Gray samples (16-bit, or 8-bit with fewer bits stored or signed) to 8 bits: stored value (masked to Bits Stored, sign-extended when signed) × Rescale
 * Slope + Intercept, then the linear VOI window of PS3.3 C.11.2.1.2 when the file gives one, else the
 * frame's own minimum to maximum.
 */
function windowGray(bytes: Uint8Array, f: PixelFormat, ds: DicomDataset): Uint8Array {
  const count = f.rows * f.columns;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sample =
    f.bitsAllocated === 8 ? (i: number) => bytes[i]! : (i: number) => view.getUint16(2 * i, true);
  const slope = decimals(ds, T.rescaleSlope)[0] ?? 1;
  const intercept = decimals(ds, T.rescaleIntercept)[0] ?? 0;
  const shift = 32 - f.bitsStored;
  // Computed twice rather than kept: a Float64Array of a 40-megapixel frame would be 320 MB.
  const value = (i: number) => {
    const raw = sample(i) << shift;
    return (f.signed ? raw >> shift : raw >>> shift) * slope + intercept;
  };
  const center = decimals(ds, T.windowCenter)[0];
  const width = decimals(ds, T.windowWidth)[0];
  const out = new Uint8Array(count);
  if (center !== undefined && width !== undefined && width >= 1) {
    const [low, high] = [center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2];
    for (let i = 0; i < count; i++) {
      const v = value(i);
      out[i] = v <= low ? 0 : v > high ? 255 : clamp8(((v - (center - 0.5)) / (width - 1) + 0.5) * 255);
    }
    return out;
  }
  let [min, max] = [Infinity, -Infinity];
  for (let i = 0; i < count; i++) {
    const v = value(i);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  for (let i = 0; i < count; i++) out[i] = span > 0 ? clamp8(((value(i) - min) / span) * 255) : 0;
  return out;
}

/** 8-bit indices through the red, green and blue palette tables (8- or 16-bit entries) to RGB. */
function palette(indices: Uint8Array, ds: DicomDataset, name: string): Uint8Array {
  const tables = [0, 1, 2].map((c) => {
    const descriptor = tag(0x0028, 0x1101 + c);
    const entries = uint16(ds, descriptor, 0) || 65536;
    const first = uint16(ds, descriptor, 1) ?? 0;
    const bits = uint16(ds, descriptor, 2) ?? 16;
    const data = ds.get(T.redData + c)?.value;
    if (!data) throw dicomError('not_image', name, 'DICOM PALETTE COLOR image without its lookup tables');
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const wide = bits === 16 || data.length >= 2 * entries;
    if (data.length < (wide ? 2 * entries : entries))
      throw dicomError(
        'truncated',
        name,
        `DICOM palette table ${c} holds ${data.length} bytes for ${entries} entries`,
      );
    const entry = (k: number) => (wide ? view.getUint16(2 * k, true) >> (bits === 16 ? 8 : 0) : data[k]!);
    return { entries, first, entry };
  });
  const rgb = new Uint8Array(3 * indices.length);
  for (let i = 0; i < indices.length; i++) {
    for (let c = 0; c < 3; c++) {
      const { entries, first, entry } = tables[c]!;
      rgb[3 * i + c] = entry(Math.min(Math.max(indices[i]! - first, 0), entries - 1));
    }
  }
  return rgb;
}
