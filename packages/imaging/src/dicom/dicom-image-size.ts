import { MAX_IMAGE_PIXELS } from '../declared-image-size.ts';
import type { ImageSize } from '../image-header-size.ts';
import { uint16 } from './dicom-dataset.ts';
import { inflateBoundFor, parseDicomFile } from './dicom-file.ts';
import { T } from './pixel-format.ts';

/**
 * Columns × Rows as a DICOM file's dataset declares them (one frame: a cine clip's last frame is all
 * that is decoded), without decoding a pixel; undefined when the file does not parse (decodeDicom then
 * says why). A deflated dataset is inflated to read it, under decodeDicom's bound for `maxPixels`
 * (inflateBoundFor).
 *
 * @example dicomImageSize(bytes) // { width: 940, height: 720 }
 */
export function dicomImageSize(
  bytes: Uint8Array,
  { maxPixels = MAX_IMAGE_PIXELS }: { maxPixels?: number } = {},
): ImageSize | undefined {
  try {
    const { dataset } = parseDicomFile(bytes, { maxInflatedBytes: inflateBoundFor(maxPixels) });
    const width = uint16(dataset, T.columns) ?? 0;
    const height = uint16(dataset, T.rows) ?? 0;
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}
