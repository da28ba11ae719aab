import type { GradingFeatures } from '@cti/models';

/** One graded ribeye against its truth, as `pnpm eval:grading` scores it. */
export type ReaCase = {
  features: Pick<GradingFeatures, 'rea_cm2' | 'roi_area_px'>;
  pixelSpacingMm: number;
  /** A pixel's width ÷ its height the case was graded with (default 1, square). */
  pixelAspect?: number;
  trueReaCm2: number;
};

export type ReaErrors = {
  /** |measured − true| / true on every ribeye, from the mask's area even where the REA was withheld. */
  measured: number[];
  /** The same on the ribeyes whose REA the grading reported. */
  reported: number[];
  /** Ribeyes whose REA was withheld (null: not a ribeye view, no spacing). */
  withheld: number;
};

/**
 * Relative REA errors of graded ribeyes. A withheld REA (null) is a refusal, not an area of 0 cm²:
 * counting it as a 100 % error mixed the view verdict into the area figure (13.0 % on the held-out
 * set where the masks themselves are 6.5 % off). It is scored by the mask's own area instead (the
 * pixel measure the grading keeps), so refusing a bad mask cannot improve `measured`, and counted.
 */
export function reaErrors(cases: ReaCase[]): ReaErrors {
  const out: ReaErrors = { measured: [], reported: [], withheld: 0 };
  for (const c of cases) {
    const fromMask = (c.features.roi_area_px * c.pixelSpacingMm ** 2 * (c.pixelAspect ?? 1)) / 100;
    out.measured.push(Math.abs(fromMask - c.trueReaCm2) / c.trueReaCm2);
    if (c.features.rea_cm2 === null) out.withheld++;
    else out.reported.push(Math.abs(c.features.rea_cm2 - c.trueReaCm2) / c.trueReaCm2);
  }
  return out;
}
