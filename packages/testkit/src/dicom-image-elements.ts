import { type DicomElementSpec, dcm, dicomTag as t } from './dicom-bytes.ts';

export type DicomImageSpec = {
  width: number;
  height: number;
  samples?: 1 | 3;
  bitsAllocated?: 8 | 16;
  photometric?: string;
  planar?: 0 | 1;
  /** Written as NumberOfFrames when given (a cine clip). */
  frames?: number;
  /** Uncompressed samples (every frame), or encapsulated fragments (offset table first). */
  pixels: Uint8Array | { fragments: Uint8Array[] };
};

/**
 * The Image Pixel module of an ultrasound image plus its Pixel Data element, for dicomBytes.
 *
 * @example dicomBytes({ syntax, elements: [...dicomImageElements({ width, height, pixels }), ...] })
 */
export function dicomImageElements({
  width,
  height,
  samples = 1,
  bitsAllocated = 8,
  photometric = samples === 3 ? 'RGB' : 'MONOCHROME2',
  planar,
  frames,
  pixels,
}: DicomImageSpec): DicomElementSpec[] {
  const elements: DicomElementSpec[] = [
    dcm.ui(t(0x0008, 0x0016), '1.2.840.10008.5.1.4.1.1.6.1'),
    dcm.str(t(0x0008, 0x0060), 'CS', 'US'),
    dcm.us(t(0x0028, 0x0002), samples),
    dcm.str(t(0x0028, 0x0004), 'CS', photometric),
    dcm.us(t(0x0028, 0x0010), height),
    dcm.us(t(0x0028, 0x0011), width),
    dcm.us(t(0x0028, 0x0100), bitsAllocated),
    dcm.us(t(0x0028, 0x0101), bitsAllocated),
    dcm.us(t(0x0028, 0x0102), bitsAllocated - 1),
    dcm.us(t(0x0028, 0x0103), 0),
  ];
  if (samples === 3) elements.push(dcm.us(t(0x0028, 0x0006), planar ?? 0));
  if (frames !== undefined) elements.push(dcm.str(t(0x0028, 0x0008), 'IS', String(frames)));
  const pixelTag = t(0x7fe0, 0x0010);
  elements.push(
    pixels instanceof Uint8Array
      ? dcm.bytes(pixelTag, bitsAllocated === 16 ? 'OW' : 'OB', pixels)
      : { tag: pixelTag, vr: 'OB', fragments: pixels.fragments },
  );
  return elements;
}

export type UltrasoundRegionSpec = {
  /** RegionLocationMinX0, MinY0, MaxX1, MaxY1 (inclusive pixels). */
  box: [number, number, number, number];
  /** PhysicalDeltaX/Y, in `units` (3 = cm) per pixel. */
  deltaX: number;
  deltaY: number;
  units?: number;
  /** RegionSpatialFormat (1 = 2D) and RegionDataType (1 = tissue). */
  spatialFormat?: number;
  dataType?: number;
  frequencyKhz?: number;
  /** ReferencePixelY0 (relative to the region) and its physical value: where depth 0 is. */
  referenceY?: { pixel: number; value: number };
};

/**
 * One item of the Sequence of Ultrasound Regions (0018,6011).
 *
 * @example dcm.sq(dicomTag(0x18, 0x6011), [ultrasoundRegion({ box: [0, 0, 939, 719], deltaX: 0.03, deltaY: 0.03 })])
 */
export function ultrasoundRegion({
  box: [x0, y0, x1, y1],
  deltaX,
  deltaY,
  units = 3,
  spatialFormat = 1,
  dataType = 1,
  frequencyKhz,
  referenceY,
}: UltrasoundRegionSpec): DicomElementSpec[] {
  const r = (e: number) => t(0x0018, e);
  const item = [
    dcm.us(r(0x6012), spatialFormat),
    dcm.us(r(0x6014), dataType),
    dcm.ul(r(0x6016), 0),
    dcm.ul(r(0x6018), x0),
    dcm.ul(r(0x601a), y0),
    dcm.ul(r(0x601c), x1),
    dcm.ul(r(0x601e), y1),
    dcm.us(r(0x6024), units),
    dcm.us(r(0x6026), units),
    dcm.fd(r(0x602c), deltaX),
    dcm.fd(r(0x602e), deltaY),
  ];
  if (frequencyKhz !== undefined) item.push(dcm.ul(r(0x6030), frequencyKhz));
  if (referenceY) item.push(dcm.sl(r(0x6022), referenceY.pixel), dcm.fd(r(0x602a), referenceY.value));
  return item;
}
