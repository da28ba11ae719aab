import type { Rng } from '../prng.ts';
import type { BoneArc, PhantomKind, PhantomParams } from './phantom-types.ts';
import { skinDepthMm } from './ribeye-anatomy.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { addBoneSurfaces, addReverberation, applyBoneShadows, applyDropouts } from './scene-effects.ts';
import { createTissueMaps, incidence, lineProfile, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

/**
 * Scenes that must NOT be accepted as a ribeye: the probe in air / on gel only (ring-down lines over
 * a noise floor), a longitudinal view along the back over the rib domes (skin, fat and dense muscle
 * above a row of bright arcs with shadows — the case a learned score alone accepted in the
 * PLATFORM-NOTES experiment), and noise / textures without anatomy.
 */
export function buildNegativeScene(
  kind: PhantomKind,
  g: ScanGeometry,
  p: PhantomParams,
  rng: Rng,
): TissueMaps {
  if (kind === 'off_animal') return offAnimal(g, p, rng);
  if (kind === 'backfat_longitudinal') return longitudinal(g, p, rng);
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

function longitudinal(g: ScanGeometry, p: PhantomParams, rng: Rng): TissueMaps {
  const maps = createTissueMaps(g);
  const tilt = rng.range(-0.06, 0.06);
  // Along the back the skin is straight (tilted); a convex face still presses it into an arc.
  const skinAt = (x: number) => skinDepthMm({ ...p, skinCurvature: 0, skinTilt: tilt }, x);
  const fat = p.fatLayersMm.reduce((s, v) => s + v, 0);
  const muscleTop = (x: number) => skinAt(x) + p.skinThicknessMm + fat;
  const gain = p.interfaceGain ?? 1;
  const ribDepth = muscleTop(0) + rng.range(15, 45);
  const period = rng.range(22, 40);
  const phase = rng.range(0, period);
  const bones: BoneArc[] = [];
  for (let x = -g.fieldHalfWidthMm - period + phase; x < g.fieldHalfWidthMm + period; x += period) {
    bones.push({
      xMm: x,
      zMm: ribDepth + rng.range(-3, 3),
      halfWidthMm: period * rng.range(0.3, 0.45),
      heightMm: rng.range(3, 8),
      transmission: rng.range(0.1, 0.35),
    });
  }
  const params = { ...p, bones };
  const texture = createValueNoise(rng.int(0, 2 ** 30), 6, g.bounds);
  const fibres = createValueNoise(rng.int(0, 2 ** 30), 3, g.bounds);
  const lineW = Math.max(p.interfaceWidthMm ?? 0.35, 0.55 * g.spacingMm);
  for (let idx = 0; idx < maps.sigma.length; idx++) {
    const x = g.xMm[idx]!;
    const z = g.zMm[idx]!;
    const s = skinAt(x);
    const top = muscleTop(x);
    let sigma = 0.02;
    if (z >= s && z < s + p.skinThicknessMm) sigma = 1.3;
    else if (z >= s && z < top) sigma = 0.3 * (1 + 0.4 * texture(x, z));
    else if (z >= top) sigma = 0.85 * (1 + 0.4 * texture(x, z)) * (1 + 0.35 * fibres(x * 0.3, z * 3));
    const inc = incidence(tilt);
    maps.sigma[idx] = sigma;
    // Same interface brightness as the ribeye scenes: brightness alone must not tell them apart.
    maps.coherent[idx] =
      gain *
      (16 * inc * lineProfile(z - s, lineW) +
        8 * inc * lineProfile(z - top, lineW) +
        6 * lineProfile(z - (s + p.skinThicknessMm), lineW));
  }
  const boneTop = (b: number, x: number) => {
    const bone = bones[b];
    if (!bone) return Number.POSITIVE_INFINITY;
    const u = (x - bone.xMm) / bone.halfWidthMm;
    return u <= -1 || u >= 1 ? Number.POSITIVE_INFINITY : bone.zMm - bone.heightMm * (1 - u * u);
  };
  addBoneSurfaces(g, params, maps, boneTop);
  addReverberation(g, p, maps, skinAt);
  applyBoneShadows(g, params, maps, boneTop);
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
