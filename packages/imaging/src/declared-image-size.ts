import sharp from 'sharp';
import { dicomImageSize } from './dicom/dicom-image-size.ts';
import { type ImageSize, imageHeaderSize } from './image-header-size.ts';
import { isDicom, isRasterFormat } from './raster-format.ts';

/**
 * 40 megapixels: above any B-mode export. The grading worker, the mask editor and cti-models refuse
 * larger images from their header (declaredImageSize), before the decoder allocates them.
 */
export const MAX_IMAGE_PIXELS = 40_000_000;

/**
 * The size an image declares, read without decoding a pixel: imageHeaderSize for PNG, JPEG and BMP,
 * the dataset's Columns × Rows for DICOM (one frame's),
 * sharp's metadata for the other raster formats decodeRaster decodes (WebP, TIFF, GIF, AVIF); undefined
 * when no header can be read or the bytes are no raster image, an SVG above all (the decoder then names
 * what is wrong). Every pixel limit checks this, not
 * imageHeaderSize alone: the decoder picks the format from the bytes, not the file's extension, so a
 * 5 kB WebP named frame.png that declares 8000 × 8000 would otherwise decode to 192 MB.
 *
 * @example const size = await declaredImageSize(bytes); if (size && size.width * size.height > max) refuse();
 */
export async function declaredImageSize(bytes: Uint8Array): Promise<ImageSize | undefined> {
  const fromHeader = imageHeaderSize(bytes);
  if (fromHeader) return fromHeader;
  if (isDicom(bytes)) return dicomImageSize(bytes);
  // An SVG (or any non-raster input) is never handed to sharp: librsvg parses the whole document just
  // to say its size (1.8 GB for 56 MB of <rect>s), and decodeRaster refuses it anyway.
  if (!isRasterFormat(bytes)) return undefined;
  try {
    const { width, height } = await sharp(bytes).metadata();
    return width && height ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}
