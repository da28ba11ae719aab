import type { GradingFeatures } from '@cti/models';
import type { SpacingResolution } from './pixel-spacing.ts';

/**
 * Depths a B-mode scanner displays, mm: the scan field's height × the pixel spacing must fall inside.
 * Ribeye scans are taken at 10–25 cm; linear and convex probes offer roughly 2–35 cm. Outside 3–35 cm
 * the spacing is wrong (a mm/cm slip, a calibration typo, a spacing for another image size), not the
 * scanner. Chosen on nothing project-specific (the phantoms' 10–28 cm sit well inside).
 */
export const FIELD_DEPTH_RANGE_MM: readonly [number, number] = [30, 350];

/**
 * Wide bounds of a bovine longissimus and its backfat at the 12th–13th rib, calves to mature bulls:
 * REA ≈ 20–150 cm², width ≈ 40–200 mm, depth ≈ 20–120 mm, fat ≈ 0–40 mm — each widened (≈ 2× on the
 * area, 1.5× on lengths) so that only a wrong scale falls outside: a spacing off by 10× moves an area
 * 100× and a length 10×. The part of a ribeye the field's edge cuts is smaller, hence the low floors.
 */
export const SPECIES_BOUNDS = {
  rea_cm2: [8, 300],
  ribeye_width_mm: [20, 300],
  ribeye_depth_mm: [10, 180],
  fat_thickness_mm: [0, 60],
} as const satisfies Record<string, readonly [number, number]>;

export type FigureOutOfBounds = {
  figure: keyof typeof SPECIES_BOUNDS;
  value: number;
  bounds: readonly [number, number];
};

/** The scan field's depth at this spacing (mm), or null when it is a plausible B-mode depth. */
export function implausibleFieldDepth(
  scanArea: readonly [number, number, number, number],
  mm: number,
): number | null {
  const depth = (scanArea[3] - scanArea[1]) * mm;
  return depth < FIELD_DEPTH_RANGE_MM[0] || depth > FIELD_DEPTH_RANGE_MM[1]
    ? Math.round(depth * 10) / 10
    : null;
}

/** The physical figures outside SPECIES_BOUNDS (a figure withheld already is not checked). */
export function figuresOutOfBounds(features: GradingFeatures): FigureOutOfBounds[] {
  const out: FigureOutOfBounds[] = [];
  for (const figure of Object.keys(SPECIES_BOUNDS) as (keyof typeof SPECIES_BOUNDS)[]) {
    const value = features[figure];
    const bounds = SPECIES_BOUNDS[figure];
    if (value !== null && (value < bounds[0] || value > bounds[1])) out.push({ figure, value, bounds });
  }
  return out;
}

/**
 * The resolved spacing with the figures' check added: a plausible field depth can still give a ribeye
 * no animal has (a wrong calibration on a field of odd height). Figures outside SPECIES_BOUNDS make the
 * spacing `implausible_spacing`, naming its source. Not checked when the spacing already has a problem,
 * nor on a frame that is no ribeye view (its "ribeye" is none, and its figures are withheld anyway).
 */
export function checkFigures(
  spacing: SpacingResolution,
  features: GradingFeatures,
  ribeyeView: number,
): Pick<SpacingResolution, 'problem' | 'detail'> {
  if (spacing.problem || spacing.mm === null || ribeyeView < 0.5) return spacing;
  const out = figuresOutOfBounds(features);
  if (out.length === 0) return spacing;
  const calibrationId = spacing.detail.calibration_id;
  const problem = {
    reason: 'implausible_spacing' as const,
    source: spacing.source,
    ...(typeof calibrationId === 'string' ? { calibration_id: calibrationId } : {}),
    message: `${spacing.mm} mm/px${spacing.aspect.value === 1 ? '' : ` (pixel aspect ${spacing.aspect.value})`} from ${spacing.source} gives ${out
      .map((o) => `${o.figure} ${o.value}, outside ${o.bounds[0]}–${o.bounds[1]}`)
      .join('; ')}`,
  };
  return { problem, detail: { ...spacing.detail, problem, species_bounds: SPECIES_BOUNDS } };
}
