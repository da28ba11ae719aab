import type { GradingFeatures } from '@cti/models';
import type { QualityFinding } from './image-quality.ts';

export type Grade = 'A' | 'M' | 'R';

export type GradeInput = {
  ribeyeView: number;
  quality: QualityFinding[];
  features: GradingFeatures;
  confidence: number;
  /** The spacing's figures are withheld (pixel-spacing.ts, spacing-plausibility.ts): grade at best M. */
  spacingProblem?: 'implausible_spacing' | 'spacing_conflict' | null;
  /**
   * The capture's meta.json was not read (gone from the store since ingest, or no valid copy kept): its
   * spacing, hint box and acquisition settings are missing from this grade, so at best M.
   */
  metaUnavailable?: boolean;
};

/** Machine-readable reasons, most serious first; the column `grading_results.grade_reasons`. */
export type GradeReason =
  | 'not_a_ribeye_view'
  | 'too_dark'
  | 'saturated'
  | 'low_contrast'
  | 'shadowed'
  | 'ribeye_cut_off'
  | 'view_uncertain'
  | 'no_spacing'
  | 'spacing_implausible'
  | 'spacing_conflict'
  | 'fat_not_measured'
  | 'meta_unavailable'
  | 'low_confidence';

/**
 * The image-quality grade, as a central ultrasound lab scores images: R (reject) when the frame is not
 * a ribeye view or the image is unusable; M (marginal, usable with caution) for anything that limits a
 * figure; A otherwise. Every reason is listed, rejecting ones first.
 */
export function decideGrade({
  ribeyeView,
  quality,
  features,
  confidence,
  spacingProblem = null,
  metaUnavailable = false,
}: GradeInput): {
  grade: Grade;
  reasons: GradeReason[];
} {
  const reject: GradeReason[] = [];
  const marginal: GradeReason[] = [];
  if (ribeyeView < 0.5) reject.push('not_a_ribeye_view');
  for (const f of quality) (f.severity === 'reject' ? reject : marginal).push(f.reason);
  if (ribeyeView >= 0.5 && ribeyeView < 0.75) marginal.push('view_uncertain');
  // A ribeye whose middle is outside the field cannot be outlined, so it cannot be measured (R); one
  // the edge only touches, its middle in view, is measured on its visible part (M).
  const cut = features.ribeye_cut_off_detail?.severity;
  if (cut === 'cut') reject.push('ribeye_cut_off');
  else if (features.ribeye_cut_off) marginal.push('ribeye_cut_off');
  // A spacing that was found but withheld says so, rather than "no spacing".
  if (spacingProblem === 'implausible_spacing') marginal.push('spacing_implausible');
  else if (spacingProblem === 'spacing_conflict') marginal.push('spacing_conflict');
  else if (features.pixel_spacing_mm === null) marginal.push('no_spacing');
  if (features.roi_area_px > 0 && features.fat_thickness_px === null) marginal.push('fat_not_measured');
  if (metaUnavailable) marginal.push('meta_unavailable');
  if (confidence < 0.4) marginal.push('low_confidence');
  const reasons = [...new Set([...reject, ...marginal])];
  return { grade: reject.length > 0 ? 'R' : marginal.length > 0 ? 'M' : 'A', reasons };
}

const PHYSICAL = ['rea_cm2', 'fat_thickness_mm', 'ribeye_width_mm', 'ribeye_depth_mm'] as const;

/**
 * A frame that is not a ribeye view, or a ribeye cut off through its middle, gets no physical figure:
 * its cm² and mm become null with the reason (never a confident area on the wrong view, nor the area of
 * a part of a ribeye); the pixel measures stay for the record. So does a spacing withheld
 * (`implausible_spacing`, `spacing_conflict`): then `pixel_spacing_mm` is null as well, so that nothing
 * reusing it (a correction by hand) measures with it; lineage.pixel_spacing keeps the value and source.
 */
export function withholdFigures(
  features: GradingFeatures,
  reasons: GradeReason[],
  spacingProblem: GradeInput['spacingProblem'] = null,
): GradingFeatures {
  const why = reasons.includes('not_a_ribeye_view')
    ? 'not_a_ribeye_view'
    : features.ribeye_cut_off_detail?.severity === 'cut'
      ? 'ribeye_cut_off'
      : spacingProblem;
  const out = { ...features, missing_reasons: { ...features.missing_reasons } };
  if (spacingProblem) Object.assign(out, { pixel_spacing_mm: null, pixel_spacing_source: 'none' });
  if (!why) return features;
  for (const key of PHYSICAL) {
    if (out[key] !== null || out.missing_reasons[key] === undefined) out.missing_reasons[key] = why;
    out[key] = null;
  }
  return out;
}
