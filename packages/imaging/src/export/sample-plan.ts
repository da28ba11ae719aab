import type { PhantomKind, PhantomPreset } from '../phantom/phantom-types.ts';
import { createRng, deriveSeed } from '../prng.ts';

export type ExportPlan = {
  seed: number;
  preset: PhantomPreset;
  /** Fraction of negatives (off_animal, backfat_longitudinal, noise), 0–1. */
  negatives: number;
  size: { width: number; height: number } | null;
  maxSide: number | null;
};

/** Seed space per preset: held-out samples never share a seed with training samples. */
const PRESET_SALT: Record<PhantomPreset, string> = { training: 'train', heldout: 'heldout-v1' };
const NEGATIVE_KINDS: PhantomKind[] = ['off_animal', 'backfat_longitudinal', 'backfat_longitudinal', 'noise'];

/** Seed and kind of sample `index`: depends only on (plan, index), not on worker count or order. */
export function planSample(plan: ExportPlan, index: number): { seed: number; kind: PhantomKind } {
  const seed = deriveSeed(deriveSeed(plan.seed, PRESET_SALT[plan.preset]), index) & 0x7fffffff;
  const rng = createRng(deriveSeed(seed, 'kind'));
  const kind = rng.next() < plan.negatives ? rng.pick(NEGATIVE_KINDS) : 'ribeye';
  return { seed, kind };
}

export function sampleName(index: number): string {
  return String(index).padStart(5, '0');
}
