import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { decodeBmp, isBmp } from './bmp-decode.ts';
import { assertGrayImage, type GrayImage } from './gray-image.ts';
import { ImageDecodeError } from './image-decode-error.ts';

/**
 * Decode any PNG/JPEG/BMP (also WebP/TIFF/GIF through sharp), gray or RGB(A), from bytes or a file
 * path, to one 8-bit channel (Rec. 601 luma; alpha is flattened onto black). Throws ImageDecodeError
 * with code 'unreadable' (path cannot be read), 'not_image', 'unsupported_bmp' or 'truncated'.
 *
 * @example
 * const { data, width, height } = await decodeGray('capture.png');
 */
export async function decodeGray(input: Buffer | Uint8Array | string): Promise<GrayImage> {
  const name = typeof input === 'string' ? input : 'image';
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ImageDecodeError('unreadable', `${name}: cannot read file (${code})`, { cause: err });
    }
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw new ImageDecodeError('not_image', `${name}: empty input, not an image`);
  if (isBmp(bytes)) return decodeBmp(bytes, name);
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .flatten({ background: '#000000' })
      .greyscale()
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ImageDecodeError(
      'not_image',
      `${name}: not a decodable image (PNG, JPEG or BMP expected): ${reason}`,
      { cause: err },
    );
  }
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
