import { readFile } from 'node:fs/promises';
import {
  declaredImageSize,
  decodeRaster,
  type GrayImage,
  ImageDecodeError,
  MAX_IMAGE_PIXELS,
  scanShapeProblem,
  toGray,
} from '@cti/imaging';

/** A path, encoded bytes (PNG/JPEG/BMP/DICOM; WebP/TIFF/GIF/AVIF are read too), or an already decoded 1-channel image. */
export type ImageInput = string | Uint8Array | GrayImage;

/** The input is no readable image (CLI exit code 2). */
export class ImageInputError extends Error {
  readonly code = 'unreadable_image';
}

function isGrayImage(input: ImageInput): input is GrayImage {
  return typeof input === 'object' && !(input instanceof Uint8Array) && 'data' in input;
}

function checkGray(image: GrayImage, label: string): GrayImage {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageInputError(`${label}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height) {
    throw new ImageInputError(`${label}: expected ${width * height} gray bytes, got ${data.length}`);
  }
  return image;
}

/** With `scanShape`: a side under 32 px or a sliver past 8:1 (scanShapeProblem) is refused too. */
function checkShape(width: number, height: number, label: string, verb: string): void {
  const problem = scanShapeProblem(width, height);
  if (problem) throw new ImageInputError(`${label} ${verb} ${width}×${height}: ${problem}`);
}

/**
 * Decodes any supported input to 8-bit gray (RGB -> Rec. 601 luma, as training did). Encoded input
 * declaring more than `maxPixels` (default MAX_IMAGE_PIXELS, the worker's limit) is refused from its
 * header, before decoding: a 62 kB PNG can declare 8000×8000 and a 750 kB one 16000×16000 (768 MB).
 * With `scanShape: true` (cti-models) an image whose shape is no scan — a side under 32 px, a sliver
 * past 8:1 — is refused as the grading worker refuses it, from the header when it can be read.
 */
export async function toGrayImage(
  input: ImageInput,
  { maxPixels = MAX_IMAGE_PIXELS, scanShape = false }: { maxPixels?: number; scanShape?: boolean } = {},
): Promise<GrayImage> {
  if (isGrayImage(input)) {
    const gray = checkGray(input, 'gray image');
    if (scanShape) checkShape(gray.width, gray.height, 'gray image', 'is');
    return gray;
  }
  const label = typeof input === 'string' ? input : `${input.length}-byte buffer`;
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (err) {
      throw new ImageInputError(
        `cannot read ${input}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  } else {
    bytes = input;
  }
  if (bytes.length === 0) throw new ImageInputError(`${label}: empty file, not an image`);
  const declared = await declaredImageSize(bytes);
  if (declared && declared.width * declared.height > maxPixels) {
    throw new ImageInputError(
      `${label} declares ${declared.width}×${declared.height}, over the limit of ${maxPixels} pixels`,
    );
  }
  if (declared && scanShape) checkShape(declared.width, declared.height, label, 'declares');
  try {
    const gray = checkGray(toGray(await decodeRaster(bytes)), label);
    // The header could not be read before decoding, or said otherwise.
    if (gray.width * gray.height > maxPixels) {
      throw new ImageInputError(
        `${label} is ${gray.width}×${gray.height}, over the limit of ${maxPixels} pixels`,
      );
    }
    if (scanShape) checkShape(gray.width, gray.height, label, 'is');
    return gray;
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    // imaging names buffer input 'image'; the label already says which input it was.
    const reason =
      err instanceof ImageDecodeError ? err.message.replace(/^image: /, '') : (err as Error).message;
    // imaging's reason already says "not a decodable image: …" (and which formats it reads); no second
    // format list here to contradict it.
    const problem = reason.startsWith('not a') ? reason : `not a readable image: ${reason}`;
    throw new ImageInputError(`${label}: ${problem}`, { cause: err });
  }
}
