import { type DicomDataset, decimals, float64, int32, tag, text, uint16, uint32 } from './dicom-dataset.ts';

/** What a DICOM image states about its acquisition, as the file states it (callers check ranges). */
export type DicomCalibration = {
  /** Millimetres per pixel down the image (the depth axis). */
  pixelSpacingMm?: number;
  /** A pixel's width ÷ its height. */
  pixelAspect?: number;
  /** Depth of the imaged field, cm (see dicomCalibration for when it is derivable). */
  depthCm?: number;
  frequencyMhz?: number;
  /** Manufacturer, then the transducer (else the console model): "ALOKA UST-5820-5". */
  probeModel?: string;
  /** Where the spacing came from, when there is one. */
  spacingSource?: 'ultrasound_region' | 'pixel_spacing' | 'imager_pixel_spacing';
  /** Choices worth a log line: regions that disagree, a depth not derivable. */
  notes: string[];
};

const REGIONS = tag(0x0018, 0x6011);
const CM = 3;
type Region = { box: [number, number, number, number]; dx: number; dy: number; item: DicomDataset };

/**
 * The acquisition a DICOM image states. Pixel spacing and aspect come from the Sequence of Ultrasound
 * Regions (0018,6011): its 2D (RegionSpatialFormat 1) tissue (RegionDataType 1) regions in cm
 * (PhysicalUnitsX/YDirection 3) whose box lies within the frame (others noted); several that disagree →
 * the largest, noted. Spacing = PhysicalDeltaY
 * × 10, aspect = DeltaX ÷ DeltaY, frequency = the region's TransducerFrequency (kHz) ÷ 1000. Depth =
 * the region's height × DeltaY, only when the region's top row is the skin: its reference pixel
 * (0018,6022 / 602A) puts physical depth 0 on that row (within half a pixel), or, with no reference
 * pixel, the region starts on the image's first row. Only without a region sequence: Pixel Spacing
 * (0028,0030), else Imager Pixel Spacing (0018,1164), row spacing first.
 *
 * @example dicomCalibration(dataset).pixelSpacingMm // 0.29586
 */
export function dicomCalibration(ds: DicomDataset): DicomCalibration {
  const notes: string[] = [];
  const probeModel = probe(ds);
  const regionSequence = ds.get(REGIONS)?.items;
  if (!regionSequence) return { ...fallbackSpacing(ds), probeModel, notes };
  const frame = { columns: uint16(ds, tag(0x0028, 0x0011)) ?? 0, rows: uint16(ds, tag(0x0028, 0x0010)) ?? 0 };
  const tissue = regionSequence.flatMap((item) => tissueRegion(item) ?? []);
  const regions = tissue.filter((r) => insideFrame(r, frame));
  if (regions.length < tissue.length)
    notes.push(
      `${tissue.length - regions.length} 2D tissue region(s) not within the ${frame.columns}×${frame.rows} frame passed over`,
    );
  if (regions.length === 0) {
    notes.push('ultrasound regions hold no 2D tissue region calibrated in cm: no pixel spacing');
    return { probeModel, notes };
  }
  const area = ({ box: [x0, y0, x1, y1] }: Region) => (x1 - x0 + 1) * (y1 - y0 + 1);
  const region = regions.reduce((best, r) => (area(r) > area(best) ? r : best));
  if (regions.some((r) => !near(r.dx, region.dx) || !near(r.dy, region.dy)))
    notes.push(
      `${regions.length} 2D tissue regions disagree on their calibration: took the largest (${region.box.join(',')})`,
    );
  const khz = uint32(region.item, tag(0x0018, 0x6030));
  return {
    pixelSpacingMm: region.dy * 10,
    pixelAspect: region.dx / region.dy,
    depthCm: depth(region, notes),
    frequencyMhz: khz ? khz / 1000 : undefined,
    probeModel,
    spacingSource: 'ultrasound_region',
    notes,
  };
}

/** A region's box is in the frame's pixels (PS3.3 C.8.5.5.1.1): one outside it, or inverted, is not the image's. */
const insideFrame = ({ box: [x0, y0, x1, y1] }: Region, frame: { columns: number; rows: number }) =>
  x0 <= x1 && y0 <= y1 && x1 < frame.columns && y1 < frame.rows;

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

function tissueRegion(item: DicomDataset): Region | undefined {
  const u16 = (e: number) => uint16(item, tag(0x0018, e));
  if (u16(0x6012) !== 1 || u16(0x6014) !== 1 || u16(0x6024) !== CM || u16(0x6026) !== CM) return undefined;
  const dx = float64(item, tag(0x0018, 0x602c));
  const dy = float64(item, tag(0x0018, 0x602e));
  if (
    !(dx !== undefined && dy !== undefined && dx > 0 && dy > 0 && Number.isFinite(dx) && Number.isFinite(dy))
  )
    return undefined;
  const box = [0x6018, 0x601a, 0x601c, 0x601e].map((e) => uint32(item, tag(0x0018, e)) ?? 0) as Region['box'];
  return { box, dx, dy, item };
}

function depth({ box: [, y0, , y1], dy, item }: Region, notes: string[]): number | undefined {
  const refY = int32(item, tag(0x0018, 0x6022));
  const refDepth = float64(item, tag(0x0018, 0x602a));
  const top = refY !== undefined && refDepth !== undefined ? refDepth - refY * dy : y0 === 0 ? 0 : undefined;
  if (top === undefined || Math.abs(top) > dy / 2 || y1 < y0) {
    notes.push('the tissue region does not start at the skin: no depth');
    return undefined;
  }
  return (y1 - y0 + 1) * dy;
}

function fallbackSpacing(
  ds: DicomDataset,
): Pick<DicomCalibration, 'pixelSpacingMm' | 'pixelAspect' | 'spacingSource'> {
  for (const [t, source] of [
    [tag(0x0028, 0x0030), 'pixel_spacing'],
    [tag(0x0018, 0x1164), 'imager_pixel_spacing'],
  ] as const) {
    const [row, column] = decimals(ds, t);
    if (row !== undefined && row > 0)
      return {
        pixelSpacingMm: row,
        pixelAspect: column && column > 0 ? column / row : undefined,
        spacingSource: source,
      };
  }
  return {};
}

function probe(ds: DicomDataset): string | undefined {
  const manufacturer = text(ds, tag(0x0008, 0x0070));
  const device = text(ds, tag(0x0018, 0x5010)) ?? text(ds, tag(0x0008, 0x1090));
  return [manufacturer, device].filter(Boolean).join(' ') || undefined;
}
