import { ModelCardError, readCardJson } from '../model-card.ts';
import { FEATURES, type ViewStats } from './view-features.ts';

/** A reason rule: `code` is reported when `stat op value` (stats of the preprocessed crop). */
export type ReasonRule = {
  code: ViewReason;
  stat: keyof ViewStats;
  op: '<' | '>';
  value: number;
};

/**
 * Machine-readable reasons, first `not_a_ribeye_view` on every rejection, then what explains it.
 * Stable codes: consumers (grading, the agent) branch on them.
 */
export const VIEW_REASONS = [
  'not_a_ribeye_view',
  'ribeye_cut_off',
  'longitudinal_view',
  'no_ribeye_lens',
  'rump_view',
  'probe_lifted',
  'motion_blur',
  'off_animal',
  'no_anatomy',
  'too_dark',
  'saturated',
  'low_contrast',
] as const;
export type ViewReason = (typeof VIEW_REASONS)[number];

/**
 * `models/ribeye-view.card.json`: a logistic calibration over named features of the hint's output and
 * the preprocessed crop, bound to the exact hint model it was fitted on (sha256).
 */
export type ViewCard = {
  name: string;
  version: string;
  task: 'view-verdict';
  description?: string;
  /** The hint model whose outputs the features read. */
  hint: { name: string; version: string; sha256: string };
  /** Classes of the hint's view head (output 5…), first 'ribeye'; absent for a hint without one. */
  classes?: string[];
  /** Reason code of each non-ribeye class. */
  classReasons?: Record<string, ViewReason>;
  features: string[];
  /** Standardisation applied before the weights: (x − mean) / std. */
  featureMean: number[];
  featureStd: number[];
  weights: number[];
  bias: number;
  /** Accept when ribeyeView ≥ threshold. */
  threshold: number;
  reasonRules: ReasonRule[];
  calibration?: unknown;
  metrics?: unknown;
};

const REASON_STATS: readonly string[] = [
  'mean',
  'contrast',
  'darkFraction',
  'saturatedFraction',
  'topBand',
  'gradientRatio',
  'hSharpness',
  'vSharpness',
  'boxBrightness',
] satisfies (keyof ViewStats)[];

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export async function readViewCard(path: string): Promise<ViewCard> {
  return validateViewCard(await readCardJson<ViewCard>(path, 'view card'), path);
}

/** Throws ModelCardError naming the first field that is missing or inconsistent. */
export function validateViewCard(card: ViewCard, path: string): ViewCard {
  const bad = (what: string): never => {
    throw new ModelCardError(`view card ${path}: ${what}`);
  };
  if (card.task !== 'view-verdict') bad(`task is "${card.task}", expected "view-verdict"`);
  if (typeof card.name !== 'string' || typeof card.version !== 'string') bad('lacks "name" or "version"');
  if (!card.hint || !/^[0-9a-f]{64}$/.test(card.hint.sha256 ?? '')) bad('"hint.sha256" is not 64 hex');
  const n = card.features?.length ?? 0;
  if (n === 0) bad('"features" is empty');
  for (const f of card.features) if (!FEATURES[f]) bad(`unknown feature "${f}"`);
  for (const key of ['featureMean', 'featureStd', 'weights'] as const) {
    const v = card[key];
    if (!Array.isArray(v) || v.length !== n || !v.every(isNum)) bad(`"${key}" must be ${n} numbers`);
  }
  if (card.featureStd.some((s) => s <= 0)) bad('"featureStd" must be positive');
  if (!isNum(card.bias)) bad('"bias" must be a number');
  if (!isNum(card.threshold) || card.threshold <= 0 || card.threshold >= 1)
    bad('"threshold" must be in (0, 1)');
  if (!Array.isArray(card.reasonRules)) bad('"reasonRules" must be an array');
  for (const r of card.reasonRules) {
    if (
      !VIEW_REASONS.includes(r.code) ||
      !REASON_STATS.includes(r.stat) ||
      (r.op !== '<' && r.op !== '>') ||
      !isNum(r.value)
    )
      bad(`bad reason rule ${JSON.stringify(r)}`);
  }
  if (card.classes && card.classes[0] !== 'ribeye') bad('"classes" must start with "ribeye"');
  for (const code of Object.values(card.classReasons ?? {}))
    if (!VIEW_REASONS.includes(code)) bad(`unknown class reason "${code}"`);
  return card;
}
