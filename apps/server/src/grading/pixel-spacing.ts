import { type MetaJson, PIXEL_ASPECT_RANGE } from '@cti/contracts';
import { type RasterImage, type RulerReading, readDepthRuler } from '@cti/imaging';
import type { PixelAspectSource, PixelSpacingSource } from '@cti/models';
import type { AppliedCalibration } from './scan-context.ts';
import { FIELD_DEPTH_RANGE_MM, implausibleFieldDepth } from './spacing-plausibility.ts';

/**
 * Why the chosen spacing's figures cannot be given: the scan field would be no B-mode depth at it
 * (`implausible_spacing`), or the on-screen ruler reads another spacing (`spacing_conflict`).
 */
export type SpacingProblem = {
  reason: 'implausible_spacing' | 'spacing_conflict';
  /** The source the problem is about (meta, device_calibration + its id, ruler). */
  source: PixelSpacingSource;
  calibration_id?: string;
  message: string;
};

/**
 * The pixel aspect grading uses (a pixel's width ÷ its height, packages/contracts/README.md "Pixel aspect"):
 * meta.json's, else the applied calibration's, else 1 (`assumed_square`); `detail` says which field or row.
 */
export type AspectResolution = {
  value: number;
  source: PixelAspectSource;
  detail: Record<string, unknown>;
};

/** The pixel spacing grading uses, where it came from, and what was tried (recorded in features_used). */
export type SpacingResolution = {
  /** The vertical (depth-axis) spacing; the horizontal one is mm × aspect.value. */
  mm: number | null;
  source: PixelSpacingSource;
  detail: Record<string, unknown>;
  /** The spacing is resolved but its figures must be withheld (grade at best M); null when fine. */
  problem: SpacingProblem | null;
  aspect: AspectResolution;
};

export type SpacingInput = {
  meta: MetaJson | null;
  /** Why meta.json was not read (then the reason never says it lacks the field). */
  metaProblem?: string | null;
  /**
   * The device calibration that applies to this image, if an admin set one: its spacing (null: an
   * aspect-only row, no spacing calibration) and its aspect (null or absent: none).
   */
  calibration: (Omit<AppliedCalibration, 'pixelAspect'> & { pixelAspect?: number | null }) | null;
  raster: RasterImage;
  scanArea: [number, number, number, number];
  /** How the ruler is read: readDepthRuler, or a RulerMemo's `read` (the same reading, see createRulerMemo). */
  readRuler?: (raster: RasterImage, options: { scanArea: [number, number, number, number] }) => RulerReading;
};

/** How far a meta/calibration spacing may differ from a readable ruler's before they conflict. */
export const RULER_AGREEMENT = 0.03;
/** How close meta.json's width_px/height_px aspect must be to the image's for its spacing to be rescaled. */
const ASPECT_TOLERANCE = 0.01;

const round5 = (v: number) => Math.round(v * 1e5) / 1e5;

function rulerDetail(r: RulerReading): Record<string, unknown> {
  if (!r.found) return { found: false, reason: r.reason, detail: r.detail };
  return {
    found: true,
    mm_per_px: round5(r.mmPerPixel),
    tick_spacing_px: Math.round(r.tickSpacingPx * 100) / 100,
    tick_unit_mm: r.tickUnitMm,
    unit_source: r.unitSource,
    ticks: r.ticks,
    rms_px: Math.round(r.rmsPx * 100) / 100,
    columns: r.columns,
    labels: r.labels,
  };
}

/** meta.json's spacing and aspect for this image (each null when meta.json has none), or why refused. */
type MetaScale =
  | { mm: number | null; aspect: number | null; detail: Record<string, unknown> }
  | { rejected: Record<string, unknown> }
  | null;

const inAspectRange = (a: number) => a >= PIXEL_ASPECT_RANGE[0] && a <= PIXEL_ASPECT_RANGE[1];

/**
 * meta.json's spacing and aspect for this image: as they are when its width_px/height_px are absent or the
 * image's; rescaled when they name another size of the same shape (the two ratios within 1 %: a capture
 * device that changed its output resolution) — the vertical spacing × height_px / image height, the
 * aspect unchanged. Refused (`size_mismatch`; then the next source is tried) when only one side is given,
 * or the shapes differ: a crop of that frame cannot be told from a stretch of it, and taking one for the
 * other would print wrong cm² where no ruler can catch it. A stretched capture declares its aspect
 * instead (`acquisition.pixel_aspect`, or the device's calibration).
 */
function metaScale(meta: MetaJson | null, raster: RasterImage): MetaScale {
  const acq = meta?.acquisition;
  const rawMm = acq?.pixel_spacing_mm;
  const rawAspect = acq?.pixel_aspect;
  const mm = typeof rawMm === 'number' && rawMm > 0 ? rawMm : null;
  const aspect = typeof rawAspect === 'number' && inAspectRange(rawAspect) ? rawAspect : null;
  if (mm === null && aspect === null) return null;
  const fields = {
    ...(mm !== null ? { field: 'acquisition.pixel_spacing_mm' } : {}),
    ...(aspect !== null ? { aspect_field: 'acquisition.pixel_aspect' } : {}),
  };
  const w = acq?.width_px;
  const h = acq?.height_px;
  if ((w === undefined || w === raster.width) && (h === undefined || h === raster.height))
    return { mm, aspect, detail: fields };
  const stated = {
    ...(mm !== null ? { pixel_spacing_mm: mm } : {}),
    ...(aspect !== null ? { pixel_aspect: aspect } : {}),
    width_px: w ?? null,
    height_px: h ?? null,
  };
  const rejected = (why: string) => ({
    rejected: {
      reason: 'size_mismatch',
      ...stated,
      image: [raster.width, raster.height],
      message: `meta.json's spacing is for a ${w ?? '?'}×${h ?? '?'} frame, the image is ${raster.width}×${raster.height}: ${why}`,
    },
  });
  if (w === undefined || h === undefined) return rejected('only one side of that frame is given');
  const sx = w / raster.width;
  const sy = h / raster.height;
  if (Math.abs(sx / sy - 1) > ASPECT_TOLERANCE)
    return rejected('of another shape (a crop cannot be told from a stretch)');
  return {
    mm: mm === null ? null : round5(mm * sy),
    aspect,
    detail: { ...fields, rescaled_from: stated },
  };
}

/** The aspect in the documented order: meta.json's, the applied calibration's, else square. */
function resolveAspect(fromMeta: MetaScale, calibration: SpacingInput['calibration']): AspectResolution {
  if (fromMeta && 'aspect' in fromMeta && fromMeta.aspect !== null) {
    const { aspect_field, rescaled_from } = fromMeta.detail;
    return {
      value: fromMeta.aspect,
      source: 'meta',
      detail: { field: aspect_field, ...(rescaled_from ? { rescaled_from } : {}) },
    };
  }
  if (calibration?.pixelAspect != null)
    return {
      value: calibration.pixelAspect,
      source: 'device_calibration',
      detail: { calibration_id: calibration.id },
    };
  return { value: 1, source: 'assumed_square', detail: {} };
}

/** The chosen spacing's problem: an implausible field depth first, then a disagreeing ruler. */
function spacingProblem(
  chosen: { mm: number; source: PixelSpacingSource; calibrationId?: string },
  ruler: RulerReading,
  scanArea: [number, number, number, number],
): SpacingProblem | null {
  const named = {
    source: chosen.source,
    ...(chosen.calibrationId ? { calibration_id: chosen.calibrationId } : {}),
  };
  const what =
    chosen.source === 'device_calibration'
      ? `device calibration #${chosen.calibrationId}`
      : chosen.source === 'meta'
        ? 'meta.json acquisition.pixel_spacing_mm'
        : 'the on-screen ruler';
  const depth = implausibleFieldDepth(scanArea, chosen.mm);
  if (depth !== null) {
    return {
      reason: 'implausible_spacing',
      ...named,
      message: `${chosen.mm} mm/px from ${what} makes the scan field ${depth / 10} cm deep, outside ${FIELD_DEPTH_RANGE_MM[0] / 10}–${FIELD_DEPTH_RANGE_MM[1] / 10} cm`,
    };
  }
  if (
    chosen.source !== 'ruler' &&
    ruler.found &&
    Math.abs(chosen.mm / ruler.mmPerPixel - 1) > RULER_AGREEMENT
  ) {
    return {
      reason: 'spacing_conflict',
      ...named,
      message: `${chosen.mm} mm/px from ${what} differs from the on-screen ruler's ${round5(ruler.mmPerPixel)} mm/px by ${Math.round(Math.abs(chosen.mm / ruler.mmPerPixel - 1) * 1000) / 10} % (over ${RULER_AGREEMENT * 100} %)`,
    };
  }
  return null;
}

/**
 * Pixel spacing in the issue's order: (a) meta.json `acquisition.pixel_spacing_mm` from the agent
 * (rescaled, or refused, when its width_px/height_px are not the image's), (b) the device's
 * calibration set by an admin, when it fixes a spacing (an aspect-only row does not: the ruler reads
 * the spacing of each frame), (c) the scanner's on-screen depth ruler, (d) none — then only pixel
 * measures are given, and `detail.reason` says why cm² and mm are missing. The ruler is read in every
 * case (≈ 1.3 ms at 640×480; ~0.15 ms from the grader's memo when the margins were read before): a
 * meta/calibration value it disagrees with by more than 3 % is a `spacing_conflict` (both recorded). A spacing at which the scan field is no B-mode depth is `implausible_spacing`.
 * Every one of them is the vertical (depth-axis) spacing — the ruler only measures that axis. The
 * pixel aspect is settled beside it (`aspect`: meta.json's `acquisition.pixel_aspect`, else the
 * calibration's, else 1 `assumed_square`); the horizontal spacing is mm × aspect.
 *
 * @example const spacing = resolvePixelSpacing({ meta, calibration, raster, scanArea });
 */
export function resolvePixelSpacing({
  meta,
  metaProblem = null,
  calibration,
  raster,
  scanArea,
  readRuler = readDepthRuler,
}: SpacingInput): SpacingResolution {
  const fromMeta = metaScale(meta, raster);
  const aspect = resolveAspect(fromMeta, calibration);
  const ruler = readRuler(raster, { scanArea });
  const tried: Record<string, unknown> = {
    ruler: rulerDetail(ruler),
    ...(fromMeta && 'rejected' in fromMeta ? { meta_rejected: fromMeta.rejected } : {}),
  };
  const resolved = (
    mm: number,
    source: PixelSpacingSource,
    detail: Record<string, unknown>,
    calibrationId?: string,
  ) => {
    const problem = spacingProblem(
      { mm, source, ...(calibrationId ? { calibrationId } : {}) },
      ruler,
      scanArea,
    );
    return {
      mm,
      source,
      detail: { ...detail, ...tried, ...(problem ? { problem } : {}) },
      problem,
      aspect,
    };
  };
  if (fromMeta && 'mm' in fromMeta && fromMeta.mm !== null) {
    const { aspect_field, ...detail } = fromMeta.detail;
    return resolved(fromMeta.mm, 'meta', detail);
  }
  // An aspect-only row fixes no spacing: it is no spacing source (nor checked against the ruler).
  if (calibration && calibration.pixelSpacingMm !== null)
    return resolved(
      calibration.pixelSpacingMm,
      'device_calibration',
      { calibration_id: calibration.id },
      calibration.id,
    );
  if (ruler.found) return resolved(ruler.mmPerPixel, 'ruler', {});
  const noMeta =
    metaProblem ??
    (fromMeta && 'rejected' in fromMeta
      ? 'meta.json acquisition.pixel_spacing_mm is for another image size'
      : 'no acquisition.pixel_spacing_mm in meta.json');
  return {
    mm: null,
    source: 'none',
    detail: {
      reason: `${noMeta}, ${calibration ? `device calibration #${calibration.id} declares only the pixel aspect` : 'no calibration for this device and image size'}, and no readable depth ruler (${ruler.reason}: ${ruler.detail})`,
      ...tried,
    },
    problem: null,
    aspect,
  };
}
