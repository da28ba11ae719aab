import type { MetaJson } from '@cti/contracts';
import { type RasterImage, type RulerReading, readDepthRuler } from '@cti/imaging';
import type { PixelSpacingSource } from '@cti/models';
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

/** The pixel spacing grading uses, where it came from, and what was tried (recorded in features_used). */
export type SpacingResolution = {
  mm: number | null;
  source: PixelSpacingSource;
  detail: Record<string, unknown>;
  /** The spacing is resolved but its figures must be withheld (grade at best M); null when fine. */
  problem: SpacingProblem | null;
};

export type SpacingInput = {
  meta: MetaJson | null;
  /** Why meta.json was not read (then the reason never says it lacks the field). */
  metaProblem?: string | null;
  /** The device calibration that applies to this image, if an admin set one. */
  calibration: { id: string; pixelSpacingMm: number } | null;
  raster: RasterImage;
  scanArea: [number, number, number, number];
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

type MetaSpacing =
  | { mm: number; detail: Record<string, unknown> }
  | { rejected: Record<string, unknown> }
  | null;

/**
 * meta.json's spacing for this image: as is when its width_px/height_px are absent or the image's; rescaled
 * when they name another size of the same aspect (a capture device that changed output resolution);
 * refused (`size_mismatch`) when the aspect differs too — then the next source is tried.
 */
function metaSpacing(meta: MetaJson | null, raster: RasterImage): MetaSpacing {
  const acq = meta?.acquisition;
  const mm = acq?.pixel_spacing_mm;
  if (typeof mm !== 'number' || !(mm > 0)) return null;
  const field = { field: 'acquisition.pixel_spacing_mm' };
  const w = acq?.width_px;
  const h = acq?.height_px;
  if ((w === undefined || w === raster.width) && (h === undefined || h === raster.height))
    return { mm, detail: field };
  const stated = { pixel_spacing_mm: mm, width_px: w ?? null, height_px: h ?? null };
  if (
    w !== undefined &&
    h !== undefined &&
    Math.abs((w / h) * (raster.height / raster.width) - 1) <= ASPECT_TOLERANCE
  )
    return { mm: round5((mm * w) / raster.width), detail: { ...field, rescaled_from: stated } };
  return {
    rejected: {
      reason: 'size_mismatch',
      ...stated,
      image: [raster.width, raster.height],
      message: `meta.json's spacing is for a ${w ?? '?'}×${h ?? '?'} frame, the image is ${raster.width}×${raster.height} of another aspect`,
    },
  };
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
 * Pixel spacing in the order: (a) meta.json `acquisition.pixel_spacing_mm` from the agent
 * (rescaled, or refused, when its width_px/height_px are not the image's), (b) the device's
 * calibration set by an admin, (c) the scanner's on-screen depth ruler, (d) none — then only pixel
 * measures are given, and `detail.reason` says why cm² and mm are missing. The ruler is read in every
 * case (≈ 3 ms): a meta/calibration value it disagrees with by more than 3 % is a `spacing_conflict`
 * (both recorded). A spacing at which the scan field is no B-mode depth is `implausible_spacing`.
 *
 * @example const spacing = resolvePixelSpacing({ meta, calibration, raster, scanArea });
 */
export function resolvePixelSpacing({
  meta,
  metaProblem = null,
  calibration,
  raster,
  scanArea,
}: SpacingInput): SpacingResolution {
  const fromMeta = metaSpacing(meta, raster);
  const ruler = readDepthRuler(raster, { scanArea });
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
    return { mm, source, detail: { ...detail, ...tried, ...(problem ? { problem } : {}) }, problem };
  };
  if (fromMeta && 'mm' in fromMeta) return resolved(fromMeta.mm, 'meta', fromMeta.detail);
  if (calibration)
    return resolved(
      calibration.pixelSpacingMm,
      'device_calibration',
      { calibration_id: calibration.id },
      calibration.id,
    );
  if (ruler.found) return resolved(ruler.mmPerPixel, 'ruler', {});
  const noMeta =
    metaProblem ??
    (fromMeta
      ? 'meta.json acquisition.pixel_spacing_mm is for another image size'
      : 'no acquisition.pixel_spacing_mm in meta.json');
  return {
    mm: null,
    source: 'none',
    detail: {
      reason: `${noMeta}, no calibration for this device and image size, and no readable depth ruler (${ruler.reason}: ${ruler.detail})`,
      ...tried,
    },
    problem: null,
  };
}
