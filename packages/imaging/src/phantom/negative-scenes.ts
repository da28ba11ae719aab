import type { Rng } from '../prng.ts';
import type { PhantomKind, PhantomParams } from './phantom-types.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { applyDropouts } from './scene-effects.ts';
import { createTissueMaps, lineProfile, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

/**
 * Scenes without anatomy that must NOT be accepted as a ribeye: the probe in air / on gel only
 * (ring-down lines over a noise floor) and noise / textures without layers. The anatomical negatives
 * have their own builders (longitudinal-scene.ts, layered-scene.ts, frame-effects.ts).
 */
export function buildNegativeScene(
  kind: PhantomKind,
  g: ScanGeometry,
  p: PhantomParams,
  rng: Rng,
): TissueMaps {
  if (kind === 'off_animal') return offAnimal(g, p, rng);
  return noiseScene(g, rng);
}

function offAnimal(g: ScanGeometry, p: PhantomParams, rng: Rng): TissueMaps {
  const maps = createTissueMaps(g);
  const gap = rng.range(1.5, 6);
  const decay = rng.range(0.5, 0.85);
  const partial = rng.chance(0.4) ? rng.range(0.2, 0.8) : 0;
  const lineW = Math.max(0.4, 0.6 * g.spacingMm);
  for (let idx = 0; idx < maps.sigma.length; idx++) {
    const z = g.zMm[idx]!;
    let c = 0;
    for (let k = 1; k * gap < g.depthMm && k < 30; k++)
      c += 4 * decay ** (k - 1) * lineProfile(z - k * gap, lineW);
    maps.coherent[idx] = c;
    maps.sigma[idx] = 0.03;
  }
  // Part of the face may touch skin: a patch of shallow tissue at one side.
  if (partial > 0) {
    const edge = (rng.chance(0.5) ? -1 : 1) * g.fieldHalfWidthMm * (1 - partial);
    for (let idx = 0; idx < maps.sigma.length; idx++) {
      const x = g.xMm[idx]!;
      if (edge < 0 ? x < edge : x > edge) maps.sigma[idx] = 0.5 * Math.exp(-g.zMm[idx]! / 30);
    }
  }
  applyDropouts(g, p, maps);
  return maps;
}

function noiseScene(g: ScanGeometry, rng: Rng): TissueMaps {
  const maps = createTissueMaps(g);
  const style = rng.int(0, 2);
  const blotch = createValueNoise(rng.int(0, 2 ** 30), rng.range(3, 40), g.bounds);
  const level = rng.range(0.05, 1.2);
  for (let idx = 0; idx < maps.sigma.length; idx++) {
    const v = blotch(g.xMm[idx]!, g.zMm[idx]!);
    // 0: uniform speckle, 1: blotchy texture without layers, 2: near-black frame.
    maps.sigma[idx] = style === 0 ? level : style === 1 ? level * Math.max(0, 1 + 0.9 * v) : 0.01;
  }
  return maps;
}
