// Human words for the machine-readable grade reasons the grading worker writes
// (grading_results.grade_reasons). An unknown code is shown as words rather than hidden.
const REASONS: Record<string, string> = {
  not_a_ribeye_view: 'not a ribeye view',
  ribeye_cut_off: 'ribeye cut off at the image edge',
  shadowed: 'shadow over the ribeye',
  too_dark: 'image too dark',
  saturated: 'image saturated (too bright)',
  low_contrast: 'low contrast',
  no_spacing: 'no pixel spacing (no cm/mm)',
  low_confidence: 'low confidence',
};

export function reasonText(code: string): string {
  return REASONS[code] ?? code.replace(/_/g, ' ');
}

export const GRADE_NAMES = { A: 'usable', M: 'marginal', R: 'reject' } as const;
