import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toGrayImage } from '../image-input.ts';
import type { ModelCard } from '../model-card.ts';
import type { OnnxSession } from '../onnx-session.ts';
import { probToMask, segmentationProb } from '../segmentation-model.ts';
import { mean } from './box-metrics.ts';

/** Thresholds tried, 0.30 … 0.80. */
export const CANDIDATE_THRESHOLDS = Array.from(
  { length: 11 },
  (_, i) => Math.round((0.3 + 0.05 * i) * 100) / 100,
);

type ManifestSample = { image: string; mask?: string | null; ribeye_bbox: unknown; kind?: string };

/**
 * The validation split of a `cti-phantom export` as the trainer holds it out: the last 8 % of the
 * samples by id (train.py), ribeyes only (a cut-off ribeye is a negative: its area is not graded).
 */
export async function validationSamples(dir: string): Promise<{ image: string; mask: string }[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
    samples: ManifestSample[];
  };
  const all = [...manifest.samples].sort((a, b) => a.image.localeCompare(b.image));
  const nVal = Math.max(1, Math.floor((all.length * 8) / 100));
  return all
    .slice(all.length - nVal)
    .filter((s) => s.ribeye_bbox && s.mask && (s.kind ?? 'ribeye') === 'ribeye')
    .map((s) => ({ image: join(dir, s.image), mask: join(dir, s.mask!) }));
}

export type ThresholdCalibration = {
  threshold: number;
  samples: number;
  /** Mean |predicted − true| / true area per candidate threshold, through the inference pipeline. */
  meanAreaError: Record<string, number>;
};

/**
 * Picks the segmentation mask threshold with the smallest mean area error on `samples`, measured
 * through the exact inference pipeline (scan-area crop, model, the refine pass when the card has
 * one, bilinear resize to the crop, paste, largest component, holes filled) at the image's own
 * resolution; ties go to the threshold nearest 0.5. Grading reports an area, and soft-Dice training
 * leaves the 0.5 contour biased.
 */
export async function calibrateMaskThreshold(
  session: OnnxSession,
  card: ModelCard,
  samples: { image: string; mask: string }[],
  candidates: number[] = CANDIDATE_THRESHOLDS,
): Promise<ThresholdCalibration> {
  if (samples.length === 0) throw new Error('threshold calibration needs at least one ribeye sample');
  const size = card.preprocessing.size;
  const errors = candidates.map(() => [] as number[]);
  for (const s of samples) {
    const gray = await toGrayImage(s.image);
    const truth = await toGrayImage(s.mask);
    let trueArea = 0;
    for (const v of truth.data) if (v > 127) trueArea++;
    const { prob, crop } = await segmentationProb(session, card, gray);
    candidates.forEach((t, i) => {
      let area = 0;
      for (const v of probToMask(prob, size, crop, gray, t).data) area += v;
      errors[i]!.push(Math.abs(area - trueArea) / Math.max(1, trueArea));
    });
  }
  const scored = candidates.map((t, i) => ({ t, err: mean(errors[i]!) }));
  const best = scored.reduce((a, b) =>
    b.err < a.err || (b.err === a.err && Math.abs(b.t - 0.5) < Math.abs(a.t - 0.5)) ? b : a,
  );
  return {
    threshold: best.t,
    samples: samples.length,
    meanAreaError: Object.fromEntries(
      scored.map(({ t, err }) => [t.toFixed(2), Math.round(err * 1e4) / 1e4]),
    ),
  };
}
