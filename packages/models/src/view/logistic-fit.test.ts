import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng } from '@cti/imaging';
import { fitLogistic, predictLogistic } from './logistic-fit.ts';

test('recovers the coefficients of a known logistic model', () => {
  const rng = createRng(3);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const a = rng.normal();
    const b = 2 + 3 * rng.normal();
    const p = 1 / (1 + Math.exp(-(0.5 + 2 * a - 0.4 * b)));
    x.push([a, b]);
    y.push(rng.next() < p ? 1 : 0);
  }
  const fit = fitLogistic(x, y, { l2: 0 });
  // Back from standardised to raw coefficients.
  const wa = fit.weights[0]! / fit.featureStd[0]!;
  const wb = fit.weights[1]! / fit.featureStd[1]!;
  const b0 = fit.bias - wa * fit.featureMean[0]! - wb * fit.featureMean[1]!;
  assert.ok(Math.abs(wa - 2) < 0.2, `wa ${wa}`);
  assert.ok(Math.abs(wb + 0.4) < 0.05, `wb ${wb}`);
  assert.ok(Math.abs(b0 - 0.5) < 0.2, `bias ${b0}`);
  assert.ok(Math.abs(predictLogistic(fit, [0, 0]) - 1 / (1 + Math.exp(-b0))) < 1e-9);
});

test('separable data stays finite under the ridge; sample weights move the boundary', () => {
  const x = [[0], [1], [2], [3], [4], [5]];
  const y = [0, 0, 0, 1, 1, 1];
  const fit = fitLogistic(x, y, { l2: 1e-2 });
  assert.ok(Number.isFinite(fit.weights[0]!) && fit.weights[0]! > 0);
  assert.ok(predictLogistic(fit, [2.5]) > 0.45 && predictLogistic(fit, [2.5]) < 0.55);
  const heavy = fitLogistic(x, y, { l2: 1e-2, sampleWeights: [5, 5, 5, 1, 1, 1] });
  assert.ok(predictLogistic(heavy, [2.5]) < predictLogistic(fit, [2.5]));
});

test('refuses one-class data and mismatched labels', () => {
  assert.throws(() => fitLogistic([[1], [2]], [1, 1]), /both classes/);
  assert.throws(() => fitLogistic([[1], [2]], [1]), /2 rows but 1 labels/);
});

test('a constant feature is kept harmless (unit scale, no singular Hessian)', () => {
  const fit = fitLogistic(
    [
      [0, 3],
      [1, 3],
      [2, 3],
      [3, 3],
    ],
    [0, 0, 1, 1],
  );
  assert.equal(fit.featureStd[1], 1);
  assert.ok(Number.isFinite(predictLogistic(fit, [1.5, 3])));
});
