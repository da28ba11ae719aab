// The evidence behind the grade's view decision, per image, and the arithmetic to judge a combination of
// it against the deployed decision (issue 11's grade confusion): `view-features.ts` writes the rows,
// `eval-view-evidence.ts` fits and compares. Pure apart from createEvidenceGrader (the models).
import type { RasterImage } from '@cti/imaging';
import { createGrader, type Grader } from '../src/grading/grade-image.ts';
import { modelViewCheck, type ViewCheckInput, type ViewCheckResult } from '../src/grading/view-check.ts';

type Grade = 'A' | 'M' | 'R';

/** One graded image: the deployed view check's figures and the grade it would get were its view accepted. */
export type EvidenceRow = {
  id: string;
  kind: string;
  negative: boolean;
  /** The deployed view score (modelViewCheck: verdict, VIEW_MARGIN band, rule v1). */
  view: number;
  viewReasons: string[];
  /** Grade and reasons with the view score forced to 1: every other rule (quality, cut-off, spacing). */
  gradeIfView: Grade;
  reasonsIfView: string[];
  /** Rule v1's measured values and the verdict (`model_verdict`), as recorded in `view_check.checks`. */
  checks: Record<string, number>;
  segScore: number;
  hintScore: number;
  cutOff: string;
  quality: Record<string, number | null>;
};

/**
 * The grade decideGrade gives for a view score, from the grade with the view accepted: below 0.5 R
 * (`not_a_ribeye_view`), 0.5–0.75 at best M (`view_uncertain`), otherwise the other rules' grade.
 */
export function simulatedGrade(row: Pick<EvidenceRow, 'gradeIfView'>, view: number): Grade {
  if (view < 0.5 || row.gradeIfView === 'R') return 'R';
  if (view < 0.75 || row.gradeIfView === 'M') return 'M';
  return 'A';
}

/**
 * The grader as deployed, recording each image's view-check input and result, then grading on as if
 * the view were accepted — one model run gives the evidence, the deployed view score and the other rules.
 */
export async function createEvidenceGrader(): Promise<{
  evidence(raster: RasterImage, label: { id: string; kind: string; negative: boolean }): Promise<EvidenceRow>;
  close(): Promise<void>;
}> {
  let seen: { input: ViewCheckInput; view: ViewCheckResult } | null = null;
  const grader: Grader = await createGrader({
    viewCheck: (input) => {
      const view = modelViewCheck(input);
      seen = { input, view };
      return { ...view, ribeyeView: 1 };
    },
  });
  return {
    close: () => grader.close(),
    async evidence(raster, label) {
      const g = await grader.grade({ raster, meta: null, calibration: null });
      const { input, view } = seen!;
      return {
        ...label,
        view: view.ribeyeView,
        viewReasons: view.reasons,
        gradeIfView: g.grade,
        reasonsIfView: g.reasons,
        checks: Object.fromEntries(Object.entries(view.checks).map(([k, c]) => [k, c.value])),
        segScore: input.segScore,
        hintScore: input.hint.score,
        cutOff: g.features.ribeye_cut_off_detail.severity,
        quality: g.features.image_quality as Record<string, number | null>,
      };
    },
  };
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/**
 * The named features a combination may use: the verdict as a log-odds, and rule v1's measures (without
 * a lens, rule v1 measures nothing: no agreement, full coherence, no convexity).
 */
export const FEATURES: Record<string, (r: EvidenceRow) => number> = {
  verdict_logit: (r) => {
    const v = clamp(r.checks.model_verdict ?? 0, 1e-3, 1 - 1e-3);
    return Math.log(v / (1 - v));
  },
  model_agreement: (r) => r.checks.model_agreement ?? 0,
  lateral_coherence: (r) => clamp(r.checks.transverse_texture ?? 1, 0, 1),
  lens_convexity: (r) => r.checks.lens_convexity ?? 0,
  segmentation_certainty: (r) => r.segScore,
  hint_presence: (r) => r.hintScore,
  log_lens_size: (r) => Math.log(Math.max(r.checks.lens_size ?? 0, 1e-3)),
};

export type Logistic = { features: string[]; coef: number[]; intercept: number };

/**
 * L2-regularised logistic regression by Newton's method on standardised features (so the penalty weighs
 * each alike), returned in the features' own units: p = σ(intercept + Σ coef·x).
 */
export function fitLogistic(rows: EvidenceRow[], features: string[], l2 = 1): Logistic {
  const X = rows.map((r) => features.map((f) => FEATURES[f]!(r)));
  const y = rows.map((r) => (r.negative ? 0 : 1));
  const k = features.length;
  const mu = features.map((_, j) => X.reduce((s, x) => s + x[j]!, 0) / X.length);
  const sd = features.map(
    (_, j) => Math.sqrt(X.reduce((s, x) => s + (x[j]! - mu[j]!) ** 2, 0) / X.length) || 1,
  );
  const Z = X.map((x) => [...x.map((v, j) => (v - mu[j]!) / sd[j]!), 1]);
  const w = new Array<number>(k + 1).fill(0);
  for (let it = 0; it < 100; it++) {
    const g = new Array<number>(k + 1).fill(0);
    const H = Array.from({ length: k + 1 }, () => new Array<number>(k + 1).fill(0));
    Z.forEach((z, i) => {
      const p = 1 / (1 + Math.exp(-z.reduce((s, v, j) => s + v * w[j]!, 0)));
      for (let a = 0; a <= k; a++) {
        g[a]! += (p - y[i]!) * z[a]!;
        for (let b = 0; b <= k; b++) H[a]![b]! += p * (1 - p) * z[a]! * z[b]!;
      }
    });
    for (let a = 0; a < k; a++) {
      g[a]! += l2 * w[a]!;
      H[a]![a]! += l2;
    }
    const step = solve(H, g);
    step.forEach((s, j) => {
      w[j]! -= s;
    });
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  const coef = features.map((_, j) => w[j]! / sd[j]!);
  return {
    features,
    coef,
    intercept: w[k]! - features.reduce((s, _, j) => s + (w[j]! * mu[j]!) / sd[j]!, 0),
  };
}

export function logisticScore(m: Logistic, r: EvidenceRow): number {
  const z = m.features.reduce((s, f, j) => s + m.coef[j]! * FEATURES[f]!(r), m.intercept);
  return 1 / (1 + Math.exp(-z));
}

/** Gaussian elimination with partial pivoting (the systems here are 8 × 8 at most). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let j = c; j <= n; j++) M[r]![j]! -= f * M[c]![j]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--)
    x[r] = (M[r]![n]! - M[r]!.slice(r + 1, n).reduce((s, v, j) => s + v * x[r + 1 + j]!, 0)) / M[r]![r]!;
  return x;
}

/** Negatives not graded R and positives graded A or M when `accept(row)` decides the view. */
export function confusion(rows: EvidenceRow[], accept: (r: EvidenceRow) => boolean) {
  let negativesAccepted = 0;
  let positivesKept = 0;
  for (const r of rows) {
    const kept = r.gradeIfView !== 'R' && accept(r);
    if (r.negative) negativesAccepted += kept ? 1 : 0;
    else positivesKept += kept ? 1 : 0;
  }
  const negatives = rows.filter((r) => r.negative).length;
  return { negativesAccepted, negatives, positivesKept, positives: rows.length - negatives };
}

/** The deployed decision: the view score as modelViewCheck gave it. */
export const deployedAccepts = (r: EvidenceRow) => simulatedGrade(r, r.view) !== 'R';

/**
 * The lowest score threshold that keeps `keep` (0–1) of all positives A or M (those R for other rules
 * count as lost whatever the threshold): the operating point a combination is compared at.
 */
export function thresholdForKeep(
  rows: EvidenceRow[],
  score: (r: EvidenceRow) => number,
  keep: number,
): number | null {
  const positives = rows.filter((r) => !r.negative);
  const scores = positives
    .filter((r) => r.gradeIfView !== 'R')
    .map(score)
    .sort((a, b) => b - a);
  const need = Math.ceil(keep * positives.length);
  return need > scores.length ? null : scores[need - 1]!;
}

/**
 * The band rule: near the verdict's threshold (verdict in [lo, hi)) the verdict is no better than a coin,
 * so the segmentation decides — the view is accepted only where the segmentation is certain and the two
 * models' boxes agree; outside the band the deployed decision stands.
 */
export type BandRule = { lo: number; hi: number; minCertainty: number; minAgreement: number };

export function bandAccepts(rule: BandRule, r: EvidenceRow): boolean {
  const v = r.checks.model_verdict ?? 0;
  if (v < rule.lo || v >= rule.hi || r.checks.model_agreement === undefined) return deployedAccepts(r);
  return r.segScore >= rule.minCertainty && r.checks.model_agreement >= rule.minAgreement;
}

/** The band rule on a grid that accepts the fewest negatives while keeping at least the deployed positives. */
export function fitBandRule(rows: EvidenceRow[]): BandRule {
  const floor = confusion(rows, deployedAccepts).positivesKept;
  let best: { rule: BandRule; neg: number; pos: number } | null = null;
  for (const lo of [0.35, 0.4, 0.45, 0.5])
    for (const hi of [0.6, 0.65, 0.7])
      for (const minCertainty of [0.75, 0.8, 0.85, 0.88, 0.9])
        for (const minAgreement of [0.4, 0.5, 0.6, 0.7]) {
          const rule = { lo, hi, minCertainty, minAgreement };
          const c = confusion(rows, (r) => bandAccepts(rule, r));
          if (c.positivesKept < floor) continue;
          if (
            !best ||
            c.negativesAccepted < best.neg ||
            (c.negativesAccepted === best.neg && c.positivesKept > best.pos)
          )
            best = { rule, neg: c.negativesAccepted, pos: c.positivesKept };
        }
  return best!.rule;
}
