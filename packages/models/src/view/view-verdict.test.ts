import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelCardError } from '../model-card.ts';
import { type ViewCard, validateViewCard } from './view-card.ts';
import type { ViewStats } from './view-features.ts';
import { judgeView } from './view-verdict.ts';

const card: ViewCard = {
  name: 'ribeye-view',
  version: '9.9.9',
  task: 'view-verdict',
  hint: { name: 'ribeye-hint', version: '9.9.9', sha256: 'a'.repeat(64) },
  classes: ['ribeye', 'backfat_longitudinal', 'ribeye_cut_off'],
  classReasons: { backfat_longitudinal: 'longitudinal_view', ribeye_cut_off: 'ribeye_cut_off' },
  features: ['view_logit', 'darkness'],
  featureMean: [0, 0],
  featureStd: [2, 0.1],
  weights: [4, -1],
  bias: 0,
  threshold: 0.5,
  reasonRules: [{ code: 'too_dark', stat: 'mean', op: '<', value: 0.05 }],
};
const stats = (mean: number): ViewStats => ({
  mean,
  contrast: 0.15,
  darkFraction: 0,
  saturatedFraction: 0,
  topBand: 0,
  gradientRatio: 0.5,
  hSharpness: -0.7,
  vSharpness: -0.5,
  boxBrightness: 0.05,
});
// [x0, y0, x1, y1, score, logit ribeye, logit backfat, logit cut-off]
const out = (ribeye: number, backfat: number, cut: number) =>
  Float32Array.from([0.1, 0.1, 0.9, 0.5, 0.8, ribeye, backfat, cut]);

test('ribeyeView = σ(bias + Σ w·(x − mean)/std) over the named features', () => {
  // view_logit = log-odds of ribeye against the other classes = 3 − ln(e¹ + e⁰);
  // z = 4·view_logit/2 − 1·(darkness 0.12 − 0.10 − mean 0)/0.1.
  const v = judgeView(card, stats(0.1), out(3, 1, 0));
  const z = (4 * (3 - Math.log(Math.E + 1))) / 2 - 0.2;
  assert.equal(v.ribeyeView, Math.round((1 / (1 + Math.exp(-z))) * 10000) / 10000);
  assert.deepEqual(v, {
    ribeyeView: v.ribeyeView,
    accepted: true,
    threshold: 0.5,
    reasons: [],
    model: 'ribeye-view@9.9.9',
  });
});

test('a rejection says not_a_ribeye_view first, then the likeliest other class and the rules that fire', () => {
  const v = judgeView(card, stats(0.02), out(0, 1, 3));
  assert.equal(v.accepted, false);
  assert.deepEqual(v.reasons, ['not_a_ribeye_view', 'ribeye_cut_off', 'too_dark']);
  const w = judgeView(card, stats(0.3), out(-2, 2, 0));
  assert.deepEqual(w.reasons, ['not_a_ribeye_view', 'longitudinal_view']);
});

test('a non-finite feature is an error, never a silent verdict', () => {
  // view_logit needs the head's logits: a 5-number output has none.
  assert.throws(
    () => judgeView(card, stats(0.2), Float32Array.from([0, 0, 1, 1, 0.5])),
    /view_logit is not finite/,
  );
});

test('card validation names what is wrong', () => {
  const bad = (patch: Partial<ViewCard>) => () => validateViewCard({ ...card, ...patch }, 'x.json');
  assert.throws(bad({ features: ['view_logit', 'shoe_size'] }), /unknown feature "shoe_size"/);
  assert.throws(bad({ weights: [1] }), /"weights" must be 2 numbers/);
  assert.throws(bad({ threshold: 1 }), /"threshold" must be in \(0, 1\)/);
  assert.throws(bad({ classes: ['noise', 'ribeye'] }), /must start with "ribeye"/);
  assert.throws(bad({ task: 'segmentation' as 'view-verdict' }), ModelCardError);
  assert.doesNotThrow(bad({}));
});
