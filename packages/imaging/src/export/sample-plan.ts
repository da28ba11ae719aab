import type { PhantomKind, PhantomPreset } from '../phantom/phantom-types.ts';
import { createRng, deriveSeed } from '../prng.ts';

export type ExportPlan = {
  seed: number;
  preset: PhantomPreset;
  /** Fraction of negatives (every kind but `ribeye`, mixed as NEGATIVE_MIX), 0–1. */
  negatives: number;
  size: { width: number; height: number } | null;
  maxSide: number | null;
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

/** Seed and kind of sample `index`: depends only on (plan, index), not on worker count or order. */
export function planSample(plan: ExportPlan, index: number): { seed: number; kind: PhantomKind } {
  const seed = deriveSeed(deriveSeed(plan.seed, PRESET_SALT[plan.preset]), index) & 0x7fffffff;
  const rng = createRng(deriveSeed(seed, 'kind'));
  const kind = rng.next() < plan.negatives ? rng.pick(NEGATIVE_MIX) : 'ribeye';
  return { seed, kind };
}

export function sampleName(index: number): string {
  return String(index).padStart(5, '0');
}
