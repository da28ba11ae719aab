import { type DicomDataset, decimals, dicomError, PIXEL_DATA, tag, text, uint16 } from './dicom-dataset.ts';

/** The Image Pixel module's description of the pixels, checked. */
export type PixelFormat = {
  rows: number;
  columns: number;
  samples: 1 | 3;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  signed: boolean;
  photometric: string;
  /** 0: samples interleaved (RGBRGB…); 1: one plane per sample (RR…GG…BB…). */
  planar: 0 | 1;
  frames: number;
};

export const T = {
  samplesPerPixel: tag(0x0028, 0x0002),
  photometric: tag(0x0028, 0x0004),
  planarConfiguration: tag(0x0028, 0x0006),
  numberOfFrames: tag(0x0028, 0x0008),
  rows: tag(0x0028, 0x0010),
  columns: tag(0x0028, 0x0011),
  bitsAllocated: tag(0x0028, 0x0100),
  bitsStored: tag(0x0028, 0x0101),
  pixelRepresentation: tag(0x0028, 0x0103),
  windowCenter: tag(0x0028, 0x1050),
  windowWidth: tag(0x0028, 0x1051),
  rescaleIntercept: tag(0x0028, 0x1052),
  rescaleSlope: tag(0x0028, 0x1053),
  redDescriptor: tag(0x0028, 0x1101),
  redData: tag(0x0028, 0x1201),
} as const;

const PHOTOMETRICS = ['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422', 'PALETTE COLOR'];

/**
 * Rows, Columns, samples, bits and photometric interpretation from the dataset, each checked: what this
 * decoder cannot show is ImageDecodeError('unsupported_dicom') naming the value, an image over
 * `maxPixels` (rows × columns: only one frame is ever decoded) is refused before anything is allocated.
 *
 * @example const format = pixelFormat(dataset, 'IM0001', MAX_IMAGE_PIXELS);
 */
export function pixelFormat(ds: DicomDataset, name: string, maxPixels: number): PixelFormat {
  const rows = uint16(ds, T.rows) ?? 0;
  const columns = uint16(ds, T.columns) ?? 0;
  if (rows === 0 && columns === 0 && !ds.has(PIXEL_DATA)) {
    // A report, a presentation state, a raw data object: consoles export them beside the images.
    const sopClass = text(ds, tag(0x0008, 0x0016)) ?? 'not stated';
    throw dicomError(
      'not_image',
      name,
      `DICOM file holds no image (no Rows, Columns or Pixel Data; SOP Class UID ${sopClass})`,
    );
  }
  if (rows === 0 || columns === 0)
    throw dicomError('not_image', name, `DICOM image has no size (Rows ${rows}, Columns ${columns})`);
  if (rows * columns > maxPixels)
    throw dicomError(
      'not_image',
      name,
      `DICOM image declares ${columns}×${rows} = ${rows * columns} pixels, over the ${maxPixels} limit`,
    );
  const samples = uint16(ds, T.samplesPerPixel) ?? 1;
  const bitsAllocated = uint16(ds, T.bitsAllocated) ?? 8;
  const photometric = text(ds, T.photometric) ?? (samples === 3 ? 'RGB' : 'MONOCHROME2');
  const unsupported = (what: string) =>
    dicomError(
      'unsupported_dicom',
      name,
      `DICOM ${what} is not supported (8-bit gray or colour, 16-bit gray)`,
    );
  if (samples !== 1 && samples !== 3) throw unsupported(`Samples per Pixel ${samples}`);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) throw unsupported(`Bits Allocated ${bitsAllocated}`);
  if (bitsAllocated === 16 && samples !== 1) throw unsupported(`16-bit colour (${photometric})`);
  if (!PHOTOMETRICS.includes(photometric)) throw unsupported(`Photometric Interpretation ${photometric}`);
  const gray = photometric.startsWith('MONOCHROME') || photometric === 'PALETTE COLOR';
  if (gray !== (samples === 1))
    throw dicomError('not_image', name, `DICOM ${photometric} with ${samples} samples per pixel`);
  if (photometric === 'PALETTE COLOR' && bitsAllocated !== 8) throw unsupported('16-bit PALETTE COLOR');
  const frames = decimals(ds, T.numberOfFrames)[0] ?? 1;
  if (!Number.isInteger(frames) || frames < 1)
    throw dicomError('not_image', name, `DICOM Number of Frames ${frames}`);
  const bitsStored = uint16(ds, T.bitsStored) ?? bitsAllocated;
  return {
    rows,
    columns,
    samples,
    bitsAllocated,
    bitsStored: bitsStored >= 1 && bitsStored <= bitsAllocated ? bitsStored : bitsAllocated,
    signed: uint16(ds, T.pixelRepresentation) === 1,
    photometric,
    planar: uint16(ds, T.planarConfiguration) === 1 ? 1 : 0,
    frames,
  };
}

/** Bytes one uncompressed frame takes (YBR_FULL_422: two bytes a pixel, Y Y Cb Cr for each pair). */
export function nativeFrameBytes(f: PixelFormat): number {
  const perPixel = f.photometric === 'YBR_FULL_422' ? 2 : f.samples * (f.bitsAllocated / 8);
  return f.rows * f.columns * perPixel;
}
