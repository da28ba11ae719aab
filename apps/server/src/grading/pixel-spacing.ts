import type { MetaJson } from '@cti/contracts';
import { type RasterImage, type RulerReading, readDepthRuler } from '@cti/imaging';
import type { PixelSpacingSource } from '@cti/models';

/** The pixel spacing grading uses, where it came from, and what was tried (recorded in features_used). */
export type SpacingResolution = {
  mm: number | null;
  source: PixelSpacingSource;
  detail: Record<string, unknown>;
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

function rulerDetail(r: RulerReading): Record<string, unknown> {
  if (!r.found) return { found: false, reason: r.reason, detail: r.detail };
  return {
    found: true,
    mm_per_px: Math.round(r.mmPerPixel * 1e5) / 1e5,
    tick_spacing_px: Math.round(r.tickSpacingPx * 100) / 100,
    tick_unit_mm: r.tickUnitMm,
    unit_source: r.unitSource,
    ticks: r.ticks,
    rms_px: Math.round(r.rmsPx * 100) / 100,
    columns: r.columns,
    labels: r.labels,
  };
}

/**
 * Pixel spacing in the order: (a) meta.json `acquisition.pixel_spacing_mm` from the agent,
 * (b) the device's calibration set by an admin, (c) the scanner's on-screen depth ruler, (d) none —
 * then only pixel measures are given, and `detail.reason` says why cm² and mm are missing.
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
  const fromMeta = meta?.acquisition?.pixel_spacing_mm;
  if (typeof fromMeta === 'number' && fromMeta > 0) {
    return { mm: fromMeta, source: 'meta', detail: { field: 'acquisition.pixel_spacing_mm' } };
  }
  if (calibration) {
    return {
      mm: calibration.pixelSpacingMm,
      source: 'device_calibration',
      detail: { calibration_id: calibration.id },
    };
  }
  const ruler = readDepthRuler(raster, { scanArea });
  if (ruler.found) return { mm: ruler.mmPerPixel, source: 'ruler', detail: { ruler: rulerDetail(ruler) } };
  return {
    mm: null,
    source: 'none',
    detail: {
      reason: `${metaProblem ?? 'no acquisition.pixel_spacing_mm in meta.json'}, no calibration for this device and image size, and no readable depth ruler (${ruler.reason}: ${ruler.detail})`,
      ruler: rulerDetail(ruler),
    },
  };
}
