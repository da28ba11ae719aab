import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readReferenceScans } from '../evaluation/real-scan-eval.ts';
import { realScanVariants } from '../evaluation/real-scan-variants.ts';
import { rocAuc } from '../evaluation/roc-auc.ts';
import type { HintModel } from '../hint-model.ts';
import { toGrayImage } from '../image-input.ts';
import { preprocess } from '../preprocess.ts';
import { fitLogistic, predictLogistic } from './logistic-fit.ts';
import type { ReasonRule, ViewCard } from './view-card.ts';
import { featureVector, type ViewStats, viewStats } from './view-features.ts';

/** One phantom's verdict inputs: its kind, the hint's raw output and the crop statistics. */
export type ViewSample = { kind: string; out: Float32Array; stats: ViewStats };

/** Runs the hint on every image of a `cti-phantom export` directory (manifest order). */
export async function collectViewSamples(dir: string, hint: HintModel): Promise<ViewSample[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
    samples: { image: string; kind: string }[];
  };
  const size = hint.card.preprocessing.size;
  const samples: ViewSample[] = [];
  for (const s of manifest.samples) {
    const pre = preprocess(await toGrayImage(join(dir, s.image)), size);
    const out = await hint.runTensor(pre.tensor);
    samples.push({ kind: s.kind, out: Float32Array.from(out), stats: viewStats(pre.tensor, size, out) });
  }
  return samples;
}

/**
 * Reason rules from the positives' own spread: a rule fires only outside the range that 99 % of
 * phantom ribeyes fall in (with a floor, so that e.g. a few saturated pixels never count).
 */
export function reasonRulesFrom(positives: ViewStats[]): ReasonRule[] {
  const q = (stat: keyof ViewStats, p: number) => {
    const v = positives.map((s) => s[stat]).sort((a, b) => a - b);
    return v[Math.min(v.length - 1, Math.max(0, Math.round(p * (v.length - 1))))]!;
  };
  const r = (v: number) => Math.round(v * 10000) / 10000;
  return [
    { code: 'too_dark', stat: 'mean', op: '<', value: r(Math.min(q('mean', 0.01), 0.06)) },
    { code: 'too_dark', stat: 'darkFraction', op: '>', value: r(Math.max(q('darkFraction', 0.99), 0.5)) },
    {
      code: 'saturated',
      stat: 'saturatedFraction',
      op: '>',
      value: r(Math.max(q('saturatedFraction', 0.99), 0.02)),
    },
    { code: 'low_contrast', stat: 'contrast', op: '<', value: r(Math.min(q('contrast', 0.01), 0.06)) },
    { code: 'probe_lifted', stat: 'topBand', op: '>', value: r(q('topBand', 0.99)) },
    { code: 'motion_blur', stat: 'hSharpness', op: '<', value: r(q('hSharpness', 0.01)) },
  ];
}

export type ViewFitResult = {
  card: Omit<ViewCard, 'name' | 'version' | 'hint' | 'description'>;
  summary: { samples: number; byKind: Record<string, { n: number; accepted: number }>; auc: number };
};

/**
 * Fits the view card's logistic calibration: positives (kind 'ribeye') against every negative kind,
 * weighted so positives and negatives count equally and each negative kind equally among them (a
 * rare kind is not drowned by a common one). Threshold 0.5 of that balanced calibration.
 */
export function fitViewCard(
  samples: ViewSample[],
  opts: {
    features: string[];
    classes?: string[];
    classReasons?: ViewCard['classReasons'];
    l2?: number;
    /** Default 0.5 (of the balanced calibration); see thresholdFromReferences. */
    threshold?: number;
  },
): ViewFitResult {
  const pos = samples.filter((s) => s.kind === 'ribeye');
  const kinds = [...new Set(samples.map((s) => s.kind).filter((k) => k !== 'ribeye'))];
  if (pos.length === 0 || kinds.length === 0) throw new Error('view calibration needs ribeyes and negatives');
  const perKind = new Map(kinds.map((k) => [k, samples.filter((s) => s.kind === k).length]));
  const weights = samples.map((s) =>
    s.kind === 'ribeye' ? 0.5 / pos.length : 0.5 / kinds.length / perKind.get(s.kind)!,
  );
  const x = samples.map((s) => featureVector(opts.features, s.stats, s.out));
  const y = samples.map((s) => (s.kind === 'ribeye' ? 1 : 0));
  const fit = fitLogistic(x, y, {
    sampleWeights: weights.map((w) => w * samples.length),
    l2: opts.l2 ?? 1e-2,
  });
  const round = (v: number) => Number(v.toPrecision(7));
  const card: ViewFitResult['card'] = {
    task: 'view-verdict',
    ...(opts.classes ? { classes: opts.classes, classReasons: opts.classReasons ?? {} } : {}),
    features: opts.features,
    featureMean: fit.featureMean.map(round),
    featureStd: fit.featureStd.map(round),
    weights: fit.weights.map(round),
    bias: round(fit.bias),
    threshold: opts.threshold ?? 0.5,
    reasonRules: reasonRulesFrom(pos.map((s) => s.stats)),
  };
  const p = x.map((row) => predictLogistic({ ...card, iterations: 0 }, row));
  const byKind: Record<string, { n: number; accepted: number }> = {};
  samples.forEach((s, i) => {
    const e = byKind[s.kind] ?? { n: 0, accepted: 0 };
    byKind[s.kind] = e;
    e.n++;
    if (p[i]! >= card.threshold) e.accepted++;
  });
  const auc = rocAuc(
    p.filter((_, i) => y[i] === 1),
    p.filter((_, i) => y[i] === 0),
  );
  return { card, summary: { samples: samples.length, byKind, auc } };
}

/** One real reference copy's verdict inputs (`positive` = a ribeye view). */
export type ReferenceSample = { name: string; positive: boolean; out: Float32Array; stats: ViewStats };

/** Every reference scan of `dir` (reference-scans/README.md) and its stress copies through the hint. */
export async function collectReferenceSamples(dir: string, hint: HintModel): Promise<ReferenceSample[]> {
  const size = hint.card.preprocessing.size;
  const samples: ReferenceSample[] = [];
  for (const scan of await readReferenceScans(dir)) {
    const img = await toGrayImage(join(dir, scan.file));
    for (const v of realScanVariants(img, scan.box ?? [0, 0, img.width, img.height])) {
      const pre = preprocess(v.image, size);
      const out = Float32Array.from(await hint.runTensor(pre.tensor));
      samples.push({
        name: `${scan.file} ${v.name}`,
        positive: scan.box !== null,
        out,
        stats: viewStats(pre.tensor, size, out),
      });
    }
  }
  return samples;
}

export type ReferenceThreshold = {
  threshold: number;
  /** Lowest ribeyeView of a real ribeye copy and highest of a real negative copy. */
  lowestRibeye: number;
  highestNegative: number;
  rule: string;
};

/**
 * The threshold, checked against the real reference copies: the balanced phantom calibration's 0.5
 * when it already accepts every real ribeye copy and rejects every real negative copy; otherwise,
 * when the two sets do not overlap, the middle of the gap between them (the phantom fit's weights
 * are kept: the references only place the cut, they are far too few to fit on); when they overlap,
 * 0.5 and the overlap is reported.
 */
export function thresholdFromReferences(
  card: Pick<ViewCard, 'features' | 'featureMean' | 'featureStd' | 'weights' | 'bias' | 'classes'>,
  refs: ReferenceSample[],
): ReferenceThreshold {
  const p = (s: ReferenceSample) =>
    predictLogistic({ ...card, iterations: 0 }, featureVector(card.features, s.stats, s.out));
  const pos = refs.filter((s) => s.positive).map(p);
  const neg = refs.filter((s) => !s.positive).map(p);
  if (pos.length === 0 || neg.length === 0)
    throw new Error('reference threshold needs ribeye and negative copies');
  const lowestRibeye = Math.min(...pos);
  const highestNegative = Math.max(...neg);
  const r4 = (v: number) => Math.round(v * 10000) / 10000;
  const base = { lowestRibeye: r4(lowestRibeye), highestNegative: r4(highestNegative) };
  if (lowestRibeye >= 0.5 && highestNegative < 0.5)
    return { threshold: 0.5, ...base, rule: 'phantom-balanced 0.5 separates the real copies' };
  if (highestNegative < lowestRibeye)
    return {
      threshold: r4((lowestRibeye + highestNegative) / 2),
      ...base,
      rule: 'middle of the gap between the real ribeye and real negative copies (0.5 does not separate them)',
    };
  return {
    threshold: 0.5,
    ...base,
    rule: 'real ribeye and negative copies overlap: phantom-balanced 0.5 kept',
  };
}
