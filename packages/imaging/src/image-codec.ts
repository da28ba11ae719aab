import { readFile } from 'node:fs/promises';
import sharp, { type Sharp } from 'sharp';
import { decodeBmpRaster, isBmp } from './bmp-decode.ts';
import { decodeDicom } from './dicom/decode-dicom.ts';
import { assertGrayImage, type GrayImage, type RasterImage, toGray } from './gray-image.ts';
import { ImageDecodeError } from './image-decode-error.ts';
import { decodePlainGrayPng } from './png-gray-decode.ts';
import { pngIsPlainGray } from './png-header.ts';
import { isDicom, isRasterFormat, looksLikeText } from './raster-format.ts';

export type DecodeOptions = {
  /**
   * Return an 8-bit gray source without an ICC profile (gray PNG, gray JPEG) as 1 channel instead of
   * sharp's 3 equal ones: toGray of either is the same image (R = G = B rounds back to the value), but
   * the 1-channel decode skips widening to RGB, a copy 3× the image and the Rec. 601 pass. The grading
   * worker decodes this way; the default keeps the 3-channel raster other callers rely on.
   */
  keepGray?: boolean;
  /**
   * What error messages call the input: a path is named by itself, bytes as 'image' unless the
   * caller says where they came from (the worker passes the object's s3:// address, so its failure
   * reads "s3://…/image.png: not a decodable image: …" rather than naming the object twice).
   */
  name?: string;
};

/**
 * Decode any PNG/JPEG/BMP/DICOM (also WebP/TIFF/GIF/AVIF through sharp; nothing else, SVG above all), gray or RGB(A), from bytes or a file
 * path, to an 8-bit raster with 1 (gray) or 3 (RGB) channels, turned as its EXIF orientation says
 * (as every viewer shows it, and as the Python trainer's decode_gray does with exif_transpose).
 * A DICOM file (recognised by "DICM" after its preamble, whatever its name) gives its last frame
 * (decodeDicom; its calibration is there too).
 * Alpha is dropped, not composited, exactly as PIL's convert('RGB') in the Python trainer does. Throws ImageDecodeError with code
 * 'unreadable' (path cannot be read), 'not_image', 'unsupported_bmp', 'unsupported_dicom' or 'truncated'.
 *
 * @example
 * const { data, channels } = await decodeRaster('capture.png');
 */
export async function decodeRaster(
  input: Buffer | Uint8Array | string,
  { keepGray = false, name = typeof input === 'string' ? input : 'image' }: DecodeOptions = {},
): Promise<RasterImage> {
  const bytes = typeof input === 'string' ? await readInput(input) : input;
  if (bytes.length === 0) throw new ImageDecodeError('not_image', `${name}: empty input, not an image`);
  if (isBmp(bytes)) return decodeBmpRaster(bytes, name);
  if (isDicom(bytes)) return (await decodeDicom(bytes, { name })).image;
  if (!isRasterFormat(bytes)) {
    const what = looksLikeText(bytes) ? 'an SVG or other text document' : 'an unknown format';
    throw new ImageDecodeError(
      'not_image',
      `${name}: not a decodable image: ${what}, not a raster image (PNG, JPEG, BMP, DICOM, WebP, TIFF, GIF or AVIF)`,
    );
  }
  // The probes' plain 8-bit gray PNG without sharp (the same pixels, less CPU); anything else below.
  const plain = keepGray ? decodePlainGrayPng(bytes) : null;
  if (plain) return plain;
  try {
    // EXIF orientation applied (JPEG, TIFF, WebP…): what is graded is the picture every viewer, browser
    // and the mask editor shows, not a raster lying on its side.
    const image = sharp(bytes, { failOn: 'error', autoOrient: true });
    if (keepGray && (await isPlainGray(image, bytes))) image.toColourspace('b-w');
    return dropAlpha(await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ImageDecodeError('not_image', `${name}: not a decodable image: ${reason}`, { cause: err });
  }
}

/**
 * Decode like decodeRaster, then to one channel with the trainer's Rec. 601 formula
 * (round(0.299 R + 0.587 G + 0.114 B)), so the hint model sees the pixels training saw.
 *
 * @example
 * const { data, width, height } = await decodeGray('capture.png');
 */
export async function decodeGray(input: Buffer | Uint8Array | string): Promise<GrayImage> {
  return toGray(await decodeRaster(input));
}

/** 8-bit gray without an ICC profile: from a PNG's header when it is one, else from sharp's metadata. */
async function isPlainGray(image: Sharp, bytes: Uint8Array): Promise<boolean> {
  const png = pngIsPlainGray(bytes);
  if (png !== null) return png;
  const { space, depth, hasProfile } = await image.metadata();
  return space === 'b-w' && depth === 'uchar' && !hasProfile;
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ImageDecodeError('unreadable', `${path}: cannot read file (${code})`, { cause: err });
  }
}

/** sharp's raw output has 1–4 channels; keep gray or RGB, drop the alpha channel. */
function dropAlpha({
  data,
  info,
}: {
  data: Buffer;
  info: { width: number; height: number; channels: number };
}): RasterImage {
  const { width, height, channels } = info;
  // A view, not a copy: sharp hands over a buffer of its own.
  if (channels === 1 || channels === 3) {
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels };
  }
  const keep = channels === 2 ? 1 : 3;
  const out = new Uint8Array(width * height * keep);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < keep; c++) out[i * keep + c] = data[i * channels + c]!;
  }
  return { data: out, width, height, channels: keep };
}

/**
 * For long-running processes that decode a stream of distinct images (the grading worker): sharp keeps
 * up to 50 MB of decoded images in an operation cache by default, which such a process never hits.
 * `enabled: false` turns it off.
 *
 * @example setImageCache(false);
 */
export function setImageCache(enabled: boolean): void {
  sharp.cache(enabled);
}

/** One-channel PNG (sharp writes raw 1-channel input as RGB unless told b-w). */
export async function encodePng(gray: GrayImage): Promise<Buffer> {
  assertGrayImage(gray);
  return sharp(gray.data, { raw: { width: gray.width, height: gray.height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

/** One-channel baseline JPEG at `quality` (1–100). */
export async function encodeJpeg(gray: GrayImage, quality = 90): Promise<Buffer> {
  assertGrayImage(gray);
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(`JPEG quality must be an integer in 1..100, got ${quality}`);
  }
  return sharp(gray.data, { raw: { width: gray.width, height: gray.height, channels: 1 } })
    .toColourspace('b-w')
    .jpeg({ quality })
    .toBuffer();
}
