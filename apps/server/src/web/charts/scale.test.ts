import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTick, linearScale, niceNumber, niceTicks } from './scale.ts';

describe('niceTicks', () => {
  it('covers the range with round steps', () => {
    assert.deepEqual(niceTicks(62.3, 97.8, 5), {
      min: 60,
      max: 100,
      step: 10,
      values: [60, 70, 80, 90, 100],
    });
    assert.deepEqual(niceTicks(0, 1, 5).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(2.1, 13.9, 6).values, [2, 4, 6, 8, 10, 12, 14]);
    assert.deepEqual(niceTicks(-3, 7, 5).values, [-4, -2, 0, 2, 4, 6, 8]);
  });

  it('gives no floating-point noise in tick values', () => {
    const { values } = niceTicks(0.1, 0.7, 7);
    assert.deepEqual(values, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
  });

  it('widens a single value into an axis around it', () => {
    const one = niceTicks(80, 80, 5);
    assert.ok(one.min < 80 && one.max > 80, JSON.stringify(one));
    assert.deepEqual(niceTicks(0, 0, 5).values, [-1, -0.5, 0, 0.5, 1]);
  });

  it('starts counts at zero', () => {
    assert.deepEqual(niceTicks(3, 17, 5, { includeZero: true }).values, [0, 5, 10, 15, 20]);
    assert.deepEqual(niceTicks(0, 0, 5, { includeZero: true }).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(1, 1, 5, { includeZero: true }).values, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});

describe('niceNumber / formatTick / linearScale', () => {
  it('rounds to 1, 2, 5 × 10ⁿ', () => {
    assert.deepEqual(
      [0.013, 2.4, 4, 8, 140].map((x) => niceNumber(x, true)),
      [0.01, 2, 5, 10, 100],
    );
  });

  it('writes ticks with the decimals the step needs and a real minus', () => {
    assert.equal(formatTick(0.30000000000000004, 0.1), '0.3');
    assert.equal(formatTick(20, 5), '20');
    assert.equal(formatTick(-2.5, 0.5), '−2.5');
    assert.equal(formatTick(-0, 1), '0');
  });

  it('maps domain to range, inverted for y', () => {
    const y = linearScale([0, 20], [300, 20]);
    assert.equal(y(0), 300);
    assert.equal(y(20), 20);
    assert.equal(y(5), 230);
  });
});
