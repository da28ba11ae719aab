import type { PhantomKind, PhantomPreset } from '../phantom/phantom-types.ts';
import { createRng, deriveSeed } from '../prng.ts';

export type ExportPlan = {
  seed: number;
  preset: PhantomPreset;
  /** Fraction of negatives (every kind but `ribeye`, mixed as NEGATIVE_MIX, or TRAINING_NEGATIVE_MIX with `realism`), 0–1. */
  negatives: number;
  size: { width: number; height: number } | null;
  maxSide: number | null;
  /** Training preset only: ribeye realism, hard positives and TRAINING_NEGATIVE_MIX (opt-in, see
   * the README: the 3.2.0 attempt trained on them came out worse than 3.0.0 on the eval). */
  realism?: boolean;
};

/** Seed space per preset: held-out samples never share a seed with training samples. */
const PRESET_SALT: Record<PhantomPreset, string> = { training: 'train', heldout: 'heldout-v1' };
/**
 * Negatives by weight: the longitudinal backfat view (the commonest wrong view at the chute) ×3,
 * the other anatomical wrong views and the cut-off ribeye ×2, frames ruined at the probe ×1.
 */
export const NEGATIVE_MIX: PhantomKind[] = [
  'backfat_longitudinal',
  'backfat_longitudinal',
  'backfat_longitudinal',
  'transverse_wrong_site',
  'transverse_wrong_site',
  'rump_p8',
  'rump_p8',
  'ribeye_cut_off',
  'ribeye_cut_off',
  'probe_lifted',
  'motion_blur',
  'off_animal',
  'noise',
];

/**
 * The training preset's mix with `realism`: NEGATIVE_MIX plus two more cut-off ribeyes and one more
 * mid-sweep frame, the two kinds the view verdict confused most with ribeyes.
 */
export const TRAINING_NEGATIVE_MIX: PhantomKind[] = [
  ...NEGATIVE_MIX,
  'ribeye_cut_off',
  'ribeye_cut_off',
  'motion_blur',
];

/** Seed and kind of sample `index`: depends only on (plan, index), not on worker count or order. */
export function planSample(plan: ExportPlan, index: number): { seed: number; kind: PhantomKind } {
  const seed = deriveSeed(deriveSeed(plan.seed, PRESET_SALT[plan.preset]), index) & 0x7fffffff;
  const rng = createRng(deriveSeed(seed, 'kind'));
  const mix = plan.realism && plan.preset === 'training' ? TRAINING_NEGATIVE_MIX : NEGATIVE_MIX;
  const kind = rng.next() < plan.negatives ? rng.pick(mix) : 'ribeye';
  return { seed, kind };
}

export function sampleName(index: number): string {
  return String(index).padStart(5, '0');
}
