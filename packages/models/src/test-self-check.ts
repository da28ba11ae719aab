import assert from 'node:assert/strict';
import type { SelfCheck } from './model-card.ts';

/** The deterministic input the trainer used for its recorded self-check output. */
export function selfCheckInput(size: number): Float32Array {
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) out[y * size + x] = ((31 * y + 17 * x) % 97) / 96;
  return out;
}

/** `tolerance`: one for every output, or per output index (the sum is held to the largest). */
export function assertMatchesSelfCheck(
  out: Float32Array,
  check: SelfCheck,
  tolerance: number | ((index: number) => number),
): void {
  const tol = (i: number) => (typeof tolerance === 'number' ? tolerance : tolerance(i));
  let sum = 0;
  let maxTol = 0;
  out.forEach((v, i) => {
    sum += v;
    maxTol = Math.max(maxTol, tol(i));
  });
  assert.ok(
    Math.abs(sum - check.outputSum) <= maxTol * Math.max(1, out.length / 50),
    `sum ${sum} vs ${check.outputSum}`,
  );
  check.outputSample.forEach((expected, i) => {
    const got = out[i * check.outputStride]!;
    assert.ok(
      Math.abs(got - expected) <= tol(i * check.outputStride),
      `output[${i * check.outputStride}] = ${got}, torch said ${expected}`,
    );
  });
}
