import { MAX_IMAGE_PIXELS } from '../declared-image-size.ts';
import type { RasterImage } from '../gray-image.ts';
import { type DicomCalibration, dicomCalibration } from './dicom-calibration.ts';
import { inflateBoundFor, parseDicomFile } from './dicom-file.ts';
import { lastFrame } from './last-frame.ts';
import { pixelFormat } from './pixel-format.ts';
import { storedToRaster } from './stored-to-raster.ts';

export type DicomImage = {
  /** The frame decoded: the last one of a cine clip (the image frozen on screen). */
  image: RasterImage;
  /** Frames in the file (NumberOfFrames, 1 when absent); `frame` is the 0-based one decoded. */
  frames: number;
  frame: number;
  transferSyntax: { uid: string; name: string };
  calibration: DicomCalibration;
};

export type DecodeDicomOptions = {
  /** What error messages call the input. */
  name?: string;
  /** Rows × Columns over this are refused before anything is allocated (default MAX_IMAGE_PIXELS). */
  maxPixels?: number;
};

/**
 * A DICOM Part 10 image (uncompressed, deflated, RLE Lossless or 8-bit JPEG) decoded to an 8-bit raster,
 * with what it states about its acquisition (dicomCalibration). Throws ImageDecodeError: 'truncated'
 * (cut short: a writer still going), 'unsupported_dicom' (a transfer syntax or pixel layout named in
 * the message), 'not_image' (malformed, or over `maxPixels`). A deflated dataset may inflate to at
 * most 4 bytes a pixel of `maxPixels` plus 16 MiB.
 *
 * @example const { image, calibration } = await decodeDicom(bytes, { name: 'IM0001' });
 */
export async function decodeDicom(
  bytes: Uint8Array,
  { name = 'image', maxPixels = MAX_IMAGE_PIXELS }: DecodeDicomOptions = {},
): Promise<DicomImage> {
  const { syntax, dataset } = parseDicomFile(bytes, { name, maxInflatedBytes: inflateBoundFor(maxPixels) });
  const format = pixelFormat(dataset, name, maxPixels);
  const stored = await lastFrame(dataset, syntax, format, name);
  return {
    image: storedToRaster(stored, format, dataset, name),
    frames: format.frames,
    frame: format.frames - 1,
    transferSyntax: { uid: syntax.uid, name: syntax.name },
    calibration: dicomCalibration(dataset),
  };
}
