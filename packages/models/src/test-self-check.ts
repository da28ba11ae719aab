import assert from 'node:assert/strict';
import type { SelfCheck } from './model-card.ts';

/** The deterministic input the trainer used for its recorded self-check output. */
export function selfCheckInput(size: number): Float32Array {
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) out[y * size + x] = ((31 * y + 17 * x) % 97) / 96;
  return out;
}

export function assertMatchesSelfCheck(out: Float32Array, check: SelfCheck, tolerance: number): void {
  let sum = 0;
  for (const v of out) sum += v;
  assert.ok(
    Math.abs(sum - check.outputSum) <= tolerance * Math.max(1, out.length / 50),
    `sum ${sum} vs ${check.outputSum}`,
  );
  check.outputSample.forEach((expected, i) => {
    const got = out[i * check.outputStride]!;
    assert.ok(
      Math.abs(got - expected) <= tolerance,
      `output[${i * check.outputStride}] = ${got}, torch said ${expected}`,
    );
  });
}
