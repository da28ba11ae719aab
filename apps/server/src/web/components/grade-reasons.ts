import type { FatThickness } from '@cti/imaging';
import type { FatSpan } from '@cti/models';
import type { GradeReason } from '../../grading/grade-rules.ts';

// Human words for the machine-readable codes the grading worker (and a correction by hand) writes:
// grade reasons (grading_results.grade_reasons) and why a figure is missing
// (features_used.missing_reasons). Typed by the codes themselves, so a new code without words is a
// compile error; a code from elsewhere (an older row) is still shown as words rather than hidden.
type MissingReason =
  | 'no_ribeye'
  | 'implausible_spacing'
  | Exclude<Extract<FatThickness, { ok: false }>['reason'], 'empty_mask'>
  | Extract<FatSpan, { ok: false }>['reason'];

const REASONS: Record<GradeReason | MissingReason, string> = {
  not_a_ribeye_view: 'not a ribeye view',
  ribeye_cut_off: 'ribeye cut off at the image edge',
  shadowed: 'shadow over the ribeye',
  too_dark: 'image too dark',
  saturated: 'image saturated (too bright)',
  low_contrast: 'low contrast',
  view_uncertain: 'view uncertain (may not be a ribeye view)',
  no_spacing: 'no pixel spacing (no cm/mm)',
  spacing_implausible: 'pixel spacing implausible (check meta.json or the device calibration)',
  implausible_spacing: 'pixel spacing implausible (check meta.json or the device calibration)',
  spacing_conflict: 'pixel spacing disagrees with the on-screen ruler',
  fat_not_measured: 'fat thickness not measured',
  meta_unavailable: 'capture metadata (meta.json) unavailable: graded without it',
  low_confidence: 'low confidence',
  no_ribeye: 'no ribeye found',
  skin_not_in_view: 'skin not in view',
  no_skin_interface: 'skin/fat boundary not found',
  fat_inconsistent: 'fat readings along the ribeye disagree',
};

export function reasonText(code: string): string {
  return Object.hasOwn(REASONS, code) ? REASONS[code as keyof typeof REASONS] : code.replace(/_/g, ' ');
}

export const GRADE_NAMES = { A: 'usable', M: 'marginal', R: 'reject' } as const;
