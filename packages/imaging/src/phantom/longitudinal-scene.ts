import type { Rng } from '../prng.ts';
import type { PhantomParams } from './phantom-types.ts';
import { skinDepthMm } from './ribeye-anatomy.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { addReverberation, applyBoneShadows, applyDropouts } from './scene-effects.ts';
import { createTissueMaps, incidence, lineProfile, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

/**
 * The longitudinal backfat view over the ribs, as on `hzau-1518-backfat.png` (same scanner as the
 * hzau ribeye screen): skin and 1–3 fat layers as straight bright bands across the top (dark fat
 * with fine streaks between them), a muscle layer with fibres along the back, then a row of ribs
 * cut across (`p.bones`): round tops — half ellipses with steep sides — with a thick bright cap, each
 * casting a dark shadow straight down; intercostal muscle between them, over the pleura (a broken
 * bright line about at the ribs' floor) and the lung below it (dark, sometimes faint repeats of the
 * pleura line). No ribeye lens anywhere.
 */
export function buildLongitudinalScene(g: ScanGeometry, p: PhantomParams, rng: Rng): TissueMaps {
  const maps = createTissueMaps(g);
  const skinAt = (x: number) => skinDepthMm(p, x);
  const cum: number[] = [p.skinThicknessMm];
  for (const f of p.fatLayersMm) cum.push(cum.at(-1)! + f);
  const muscleTop = (x: number) => skinAt(x) + cum.at(-1)!;
  const gain = p.interfaceGain ?? 1;
  const texture = createValueNoise(rng.int(0, 2 ** 30), 6, g.bounds);
  // Fibres along the back: noise stretched 6× laterally (streaks), fat lobules finer.
  const fibres = createValueNoise(rng.int(0, 2 ** 30), 1.5, {
    ...g.bounds,
    x0: g.bounds.x0 / 6,
    x1: g.bounds.x1 / 6,
  });
  const lobules = createValueNoise(rng.int(0, 2 ** 30), 1.5, {
    ...g.bounds,
    x0: g.bounds.x0 / 2,
    x1: g.bounds.x1 / 2,
  });
  const grain = createValueNoise(rng.int(0, 2 ** 30), 2, g.bounds);
  const lineW = Math.max(p.interfaceWidthMm ?? 0.35, 0.55 * g.spacingMm);
  const fatAmp = rng.range(0.2, 0.6);
  const muscleAmp = rng.range(0.6, 1.3);
  const intercostalAmp = rng.range(0.4, 1);
  const lungAmp = rng.range(0.05, 0.3);
  const pleuraAmp = rng.range(1, 4);
  const boneTop = (b: number, x: number) => {
    const bone = p.bones[b];
    if (!bone) return Number.POSITIVE_INFINITY;
    const u = (x - bone.xMm) / bone.halfWidthMm;
    return u <= -1 || u >= 1 ? Number.POSITIVE_INFINITY : bone.zMm - bone.heightMm * Math.sqrt(1 - u * u);
  };
  const ribTop = Math.min(...p.bones.map((b) => b.zMm - b.heightMm), Number.POSITIVE_INFINITY);
  // The pleura lies deep to the ribs: between their shadows, about at the level of their floor.
  const pleuraDepth = ribTop + rng.range(0.8, 1.3) * meanHeight(p);
  const pleura = (x: number) => pleuraDepth + 2 * grain(x, 50);
  const aLine = rng.chance(0.5) ? 0 : rng.range(0.05, 0.3);
  for (let idx = 0; idx < maps.sigma.length; idx++) {
    const x = g.xMm[idx]!;
    const z = g.zMm[idx]!;
    const s = skinAt(x);
    const top = muscleTop(x);
    const pl = pleura(x);
    let sigma = 0.02;
    let coh = 0;
    if (z >= s && z < s + p.skinThicknessMm) sigma = 1.3;
    else if (z >= s && z < top)
      sigma = fatAmp * (1 + 0.4 * texture(x, z)) * (0.7 + 0.6 * Math.max(0, lobules(x / 2, z)));
    else if (z >= top && z < ribTop)
      sigma = muscleAmp * (1 + 0.3 * texture(x, z)) * (0.6 + 0.9 * Math.max(0, fibres(x / 6, z)));
    else if (z >= ribTop && z < pl)
      sigma = intercostalAmp * (1 + 0.3 * texture(x, z)) * (0.7 + 0.6 * Math.max(0, fibres(x / 6, z)));
    else if (z >= pl) {
      // Lung behind the pleura: air, so only faint repeats of the pleura line (A-lines) over a haze.
      sigma = lungAmp * (1 + 0.3 * texture(x, z));
      const depth = pl - s;
      for (let k = 1; k <= 3; k++) coh += (aLine * 2.5 * lineProfile(z - pl - k * depth, lineW * 2)) / k;
    }
    if (z >= s) {
      const inc = incidence(p.skinTilt);
      coh += gain * 16 * inc * lineProfile(z - s, lineW);
      for (let k = 1; k < cum.length; k++) {
        const strength = k === cum.length - 1 ? 8 : 6;
        coh += gain * strength * inc * (0.6 + 0.4 * grain(x, 7 * k)) * lineProfile(z - (s + cum[k]!), lineW);
      }
      // The pleura: a broken line between the ribs (under them it lies in their shadow).
      coh += gain * pleuraAmp * Math.max(0, grain(x, 30) + 0.3) * lineProfile(z - pl, lineW * 1.5);
    }
    maps.sigma[idx] = sigma + 0.3 * coh;
    maps.coherent[idx] = coh;
  }
  addRibSurfaces(g, p, maps, rng.int(0, 2 ** 30));
  addReverberation(g, p, maps, skinAt);
  applyBoneShadows(g, p, maps, boneTop);
  applyDropouts(g, p, maps);
  return maps;
}

/**
 * A rib cut across: a thick bright cortex cap that stays visible down its steep sides (a rough bone
 * surface scatters back even when oblique — the inverted U of the real negative), over dark marrow.
 */
function addRibSurfaces(g: ScanGeometry, p: PhantomParams, maps: TissueMaps, seed: number): void {
  const gain = p.interfaceGain ?? 1;
  const lineW = Math.max(0.6, 0.7 * g.spacingMm);
  const grain = createValueNoise(seed, 3, g.bounds);
  for (let b = 0; b < p.bones.length; b++) {
    const bone = p.bones[b]!;
    for (let idx = 0; idx < maps.sigma.length; idx++) {
      const x = g.xMm[idx]!;
      const u = (x - bone.xMm) / bone.halfWidthMm;
      if (u <= -1.05 || u >= 1.05) continue;
      const z = g.zMm[idx]!;
      if (z < bone.zMm - bone.heightMm - 4 || z > bone.zMm + 4) continue;
      // Distance to the half ellipse, measured in its own normalised frame (both the cap and the
      // steep sides are thin lines).
      const v = (bone.zMm - z) / bone.heightMm;
      const r = Math.sqrt(u * u + Math.max(0, v) ** 2);
      const d = (r - 1) * Math.min(bone.halfWidthMm, bone.heightMm);
      if (v < -0.05 || d < -4 || d > 4) continue;
      const cap = 0.55 + 0.45 * Math.max(0, v);
      const rough = 0.6 + 0.5 * grain(x, z);
      maps.coherent[idx] = maps.coherent[idx]! + 14 * gain * cap * rough * lineProfile(d, lineW * 2);
      if (d < 0 && d > -3) maps.sigma[idx] = maps.sigma[idx]! + 2.5 * gain * cap * (1 + d / 3);
    }
  }
}

function meanHeight(p: PhantomParams): number {
  return p.bones.length ? p.bones.reduce((s, b) => s + b.heightMm, 0) / p.bones.length : 10;
}
