import { type GrayImage, lateralCoherence, maskSolidity } from '@cti/imaging';
import type { Mask, ViewVerdict } from '@cti/models';

/** What the view check sees: the models' outputs and the image. */
export type ViewCheckInput = {
  gray: GrayImage;
  mask: Mask;
  maskAreaPx: number;
  scanArea: [number, number, number, number];
  /** Segmentation crispness (the model's own certainty, 0–1). */
  segScore: number;
  /** The hint model run on the same image: its box, predicted IoU and the models' view verdict
   * (null when no view card is installed beside the hint). */
  hint: { box: [number, number, number, number]; score: number; view?: ViewVerdict | null };
  segBox: [number, number, number, number] | null;
};

export type ViewCheckResult = {
  /** 0–1: how much this frame looks like a transverse ribeye view. Below 0.5: not one. */
  ribeyeView: number;
  /** Checks that failed (score < 0.5), by name. */
  reasons: string[];
  /** Every check's measured value and its score, for the record. */
  checks: Record<string, { value: number; score: number }>;
  rule: string;
};

/**
 * The interface the grader calls: `modelViewCheck` (the models' calibrated verdict with rule v1, the
 * default) or `ruleViewCheck` (rule v1 over the model outputs alone).
 */
export type ViewCheck = (input: ViewCheckInput) => ViewCheckResult;

const ramp = (v: number, bad: number, good: number) => Math.max(0, Math.min(1, (v - bad) / (good - bad)));

export function boxIou(a: [number, number, number, number], b: [number, number, number, number]): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union <= 0 ? 0 : inter / union;
}

/**
 * Rule v1: six independent, explainable checks, each scored 0 (clearly not a ribeye view) to 1
 * (clearly consistent with one); the view score is the SECOND lowest, so one failing check is
 * tolerated and two reject the frame. Ramps sit near the 5th percentile of held-out phantom ribeyes
 * (docs/adr/0003-grading-worker.md has the figures):
 * - `segmentation_certainty`: crispness of the probability map (bad 0.55, good 0.80);
 * - `lens_convexity`: mask solidity — a ribeye is a convex lens, a mask wrapped around rib domes is
 *   not (0.70, 0.90);
 * - `model_agreement`: IoU of the hint model's box with the segmentation's box (0.30, 0.65);
 * - `transverse_texture`: 1 − lateral texture coherence — muscle cut along its fibres (a
 *   longitudinal view) shows long parallel streaks (coherence bad 0.55, good 0.40);
 * - `hint_presence`: the hint model's predicted IoU, only a very low one counts against (0.20, 0.45);
 * - `lens_size`: mask area over the scan area (0.5 %, 2.5 %).
 * An empty mask, or one under 0.5 % of the scan area, is no ribeye at all.
 */
export const ruleViewCheck: ViewCheck = (input) => {
  const rule = 'view-rule-1';
  const [sx0, sy0, sx1, sy1] = input.scanArea;
  const share = input.maskAreaPx / Math.max(1, (sx1 - sx0) * (sy1 - sy0));
  if (input.maskAreaPx === 0 || share < 0.005) {
    return {
      ribeyeView: 0,
      reasons: ['no_ribeye_found'],
      checks: { lens_size: { value: round(share), score: 0 } },
      rule,
    };
  }
  const solidity = maskSolidity(input.mask);
  const agreement = input.segBox ? boxIou(input.hint.box, input.segBox) : 0;
  const coherence = lateralCoherence(input.gray, input.mask) ?? 0;
  const checks = {
    segmentation_certainty: { value: input.segScore, score: ramp(input.segScore, 0.55, 0.8) },
    lens_convexity: { value: solidity, score: ramp(solidity, 0.7, 0.9) },
    model_agreement: { value: agreement, score: ramp(agreement, 0.3, 0.65) },
    transverse_texture: { value: coherence, score: ramp(-coherence, -0.55, -0.4) },
    hint_presence: { value: input.hint.score, score: ramp(input.hint.score, 0.2, 0.45) },
    lens_size: { value: share, score: ramp(share, 0.005, 0.025) },
  };
  const scores = Object.values(checks)
    .map((c) => c.score)
    .sort((a, b) => a - b);
  return {
    ribeyeView: round(scores[1]!),
    reasons: Object.entries(checks)
      .filter(([, c]) => c.score < 0.5)
      .map(([name]) => name),
    checks: Object.fromEntries(
      Object.entries(checks).map(([name, c]) => [name, { value: round(c.value), score: round(c.score) }]),
    ),
    rule,
  };
};

/**
 * The verdict's calibrated probability on the grading scale, where 0.5 is the verdict's own
 * threshold (decideGrade: below 0.5 → R `not_a_ribeye_view`, 0.5–0.75 → M `view_uncertain`):
 * piecewise linear, [0, threshold] → [0, 0.5] and [threshold, 1] → [0.5, 1].
 */
export function verdictOnGradeScale(ribeyeView: number, threshold: number): number {
  if (!(threshold > 0 && threshold < 1))
    throw new Error(`view verdict threshold ${threshold} is not in (0, 1)`);
  const v =
    ribeyeView < threshold
      ? (0.5 * ribeyeView) / threshold
      : 0.5 + (0.5 * (ribeyeView - threshold)) / (1 - threshold);
  return ribeyeView < threshold ? Math.min(v, 0.4999) : v;
}

/**
 * How far above its threshold an accepted verdict is still uncertain. Re-encoding, resizing or annotating
 * one real scan moves its verdict by about this much (review r2's 50 variants of the real references:
 * hzau-201615's copies span 0.576–0.674 under ribeye-view 3.3.0, 0.49–0.62 under 3.1.0), so a verdict
 * closer to the threshold than that could as well have fallen below it.
 */
export const VIEW_MARGIN = 0.1;

/**
 * An accepted verdict on the grading scale: 0.5 at the threshold, 0.75 at threshold + VIEW_MARGIN,
 * linear between, and 1 beyond (clear of the threshold, the verdict does not lower the score: how far
 * above it a real scan lands says little — calibrated on phantoms, real ribeyes score 0.6–0.93 and real
 * negatives below 0.24).
 */
export function acceptedVerdictScore(ribeyeView: number, threshold: number): number {
  const above = ribeyeView - threshold;
  return above >= VIEW_MARGIN ? 1 : 0.5 + (0.25 * Math.max(0, above)) / VIEW_MARGIN;
}

/**
 * The models' view verdict (issue 13: `@cti/models` hint + `ribeye-view` card, the same verdict the
 * agent's quality gate uses at the chute) together with rule v1. A frame the verdict rejects grades R
 * `not_a_ribeye_view`: its view score is the verdict's probability on the grading scale (below 0.5),
 * or rule v1's where lower, with the verdict's reasons (`longitudinal_view`, `ribeye_cut_off`, …) first.
 * A frame it accepts within VIEW_MARGIN of its threshold scores 0.5–0.75 (acceptedVerdictScore) and
 * grades M `view_uncertain` with its confidence lowered to match — the verdict is no cliff with A
 * "without doubt" 0.001 above it and R below (review r2 F4); clear of the threshold the score is rule
 * v1's, which can still reject a frame the verdict accepts (on the real backfat scan cut at the bottom
 * ribeye-view 3.0.0 said 0.64, rule v1 0.4). Without a verdict (no view card beside the hint) this is
 * rule v1 alone.
 */
export const modelViewCheck: ViewCheck = (input) => {
  const rule = ruleViewCheck(input);
  const verdict = input.hint.view;
  if (!verdict) return rule;
  const checks = {
    ...rule.checks,
    model_verdict: { value: verdict.ribeyeView, score: verdict.accepted ? 1 : 0 },
  };
  const name = `${rule.rule}+${verdict.model}`;
  if (verdict.accepted) {
    const score = acceptedVerdictScore(verdict.ribeyeView, verdict.threshold);
    return { ...rule, ribeyeView: round(Math.min(rule.ribeyeView, score)), checks, rule: name };
  }
  return {
    ribeyeView: round(Math.min(rule.ribeyeView, verdictOnGradeScale(verdict.ribeyeView, verdict.threshold))),
    reasons: [...verdict.reasons, ...rule.reasons],
    checks,
    rule: name,
  };
};

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
