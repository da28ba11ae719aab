import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameDifference, frameQuality } from '@cti/imaging';
import { createPhantomLoop } from './phantom-loop.ts';
import { createSimulatedSource } from './simulated-source.ts';

test('the simulated probe plays a rendered phantom clip in a loop once it is ready', async () => {
  const loop = createPhantomLoop({ width: 160, height: 120, frames: 4, seed: 3 });
  const source = createSimulatedSource({ width: 160, height: 120, fps: 0, framePixels: loop.pixels });
  const seen: Uint8Array[] = [];
  source.onFrame((f) => seen.push(f.gray));
  await loop.ready;
  assert.equal(loop.error(), null);
  for (let i = 0; i < 8; i++) source.tick();
  const img = (data: Uint8Array) => ({ data, width: 160, height: 120 });
  // clip of 4, looped: 0 1 2 3 | 0 1 2 3, each play with fresh sensor noise (never bit-identical)
  assert.notDeepEqual(seen[4], seen[0]);
  const d = (a: number, b: number) => frameDifference(img(seen[a]!), img(seen[b]!));
  assert.ok(d(4, 0) > 0.5 && d(4, 0) < 3, `same clip frame differs only by noise: ${d(4, 0)}`);
  assert.ok(frameDifference(img(seen[0]!), img(seen[1]!)) > 0, 'consecutive frames differ (sway, speckle)');
  const q = frameQuality(img(seen[0]!));
  assert.ok(q.contrast > 6 && q.meanIntensity > 12, 'a phantom passes the quality gate');
  assert.equal(source.status().frames, 8);
  loop.close();
});
