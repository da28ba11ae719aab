import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ReferenceSample, thresholdFromReferences } from './view-calibration.ts';
import type { ViewStats } from './view-features.ts';

// One feature (the crop's contrast) with unit weight: ribeyeView = σ(contrast).
const card = { features: ['contrast'], featureMean: [0], featureStd: [1], weights: [1], bias: 0 };
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (p: number) => Math.log(p / (1 - p));
const ref = (positive: boolean, p: number): ReferenceSample => ({
  name: `${positive ? 'ribeye' : 'negative'} ${p}`,
  positive,
  out: new Float32Array(5),
  stats: { contrast: logit(p) } as ViewStats,
});

test('0.5 stays when it already accepts every real ribeye copy and rejects every real negative', () => {
  const t = thresholdFromReferences(card, [ref(true, 0.7), ref(true, 0.9), ref(false, 0.3)]);
  assert.equal(t.threshold, 0.5);
  assert.match(t.rule, /0.5 separates/);
});

test('the cut moves to the middle of the gap when 0.5 does not separate the real copies', () => {
  const t = thresholdFromReferences(card, [
    ref(true, 0.6),
    ref(true, 0.9),
    ref(false, 0.52),
    ref(false, 0.2),
  ]);
  assert.equal(t.threshold, 0.56);
  assert.equal(t.lowestRibeye, 0.6);
  assert.equal(t.highestNegative, 0.52);
  assert.ok(sigmoid(logit(0.6)) >= t.threshold && sigmoid(logit(0.52)) < t.threshold);
});

test('overlapping real copies keep 0.5 and say so; a set without both kinds is refused', () => {
  const t = thresholdFromReferences(card, [ref(true, 0.55), ref(false, 0.65)]);
  assert.equal(t.threshold, 0.5);
  assert.match(t.rule, /overlap/);
  assert.throws(() => thresholdFromReferences(card, [ref(true, 0.9)]), /ribeye and negative copies/);
});
