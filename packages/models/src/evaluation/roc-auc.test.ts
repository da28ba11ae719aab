import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rocAuc } from './roc-auc.ts';

test('1 when every positive outscores every negative, 0 when none does, ½ for ties', () => {
  assert.equal(rocAuc([0.9, 0.8], [0.1, 0.2, 0.3]), 1);
  assert.equal(rocAuc([0.1], [0.5, 0.6]), 0);
  assert.equal(rocAuc([0.5, 0.5], [0.5]), 0.5);
  // 3 of the 4 pairs ordered right.
  assert.equal(rocAuc([0.4, 0.9], [0.2, 0.6]), 0.75);
  assert.ok(Number.isNaN(rocAuc([], [1])));
});

test('a NaN score gives NaN, not a hang', () => {
  assert.ok(Number.isNaN(rocAuc([0.5, Number.NaN], [0.1])));
});
