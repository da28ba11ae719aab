import type { Rng } from '../prng.ts';
import { createCellTexture } from './muscle-texture.ts';
import type { PhantomParams } from './phantom-types.ts';
import { createRibeyeAnatomy } from './ribeye-anatomy.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { addBoneSurfaces, addReverberation, applyBoneShadows, applyDropouts } from './scene-effects.ts';
import { createTissueMaps, incidence, lineProfile, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

/**
 * Transverse views at the wrong site (`transverse_wrong_site`) and the rump / P8 site (`rump_p8`):
 * the same skin arch and fat layers as a ribeye view, but below them only muscle layers separated by
 * fascia lines (`p.muscleSeams`: nearly parallel to the skin, or oblique at the rump), each layer
 * with its own echo level and streaky texture — no ribeye lens, no lens-shaped outline; sometimes a
 * long flat bone deep down with its shadow (`p.bones`).
 */
export function buildLayeredScene(g: ScanGeometry, p: PhantomParams, rng: Rng): TissueMaps {
  const a = createRibeyeAnatomy(p, rng.int(0, 2 ** 30), g.bounds, 0.5 * g.spacingMm);
  const maps = createTissueMaps(g);
  const b = g.bounds;
  const blotch = createValueNoise(rng.int(0, 2 ** 30), 7, b);
  const wobble = createValueNoise(rng.int(0, 2 ** 30), 25, b);
  const streakNoise = createValueNoise(rng.int(0, 2 ** 30), rng.range(0.8, 1.6), {
    ...b,
    x0: b.x0 / 8,
    x1: b.x1 / 8,
  });
  const grain = createValueNoise(rng.int(0, 2 ** 30), rng.range(1.2, 3), b);
  const seams = p.muscleSeams ?? [];
  const levels = [rng.range(0.6, 1.4), ...seams.map(() => rng.range(0.4, 1.6))];
  const textures = levels.map(() =>
    createCellTexture(rng.int(0, 2 ** 30), {
      cellMm: rng.range(3, 10),
      aspect: rng.range(1.2, 3),
      septa: rng.range(0.1, 0.6),
      widthMm: Math.max(0.3, 0.4 * g.spacingMm),
      bounds: b,
    }),
  );
  const fatAmp = rng.range(0.35, 1.6);
  const dermis = rng.range(1.5, 3.5);
  const gain = p.interfaceGain ?? 1;
  const lineW = Math.max(p.interfaceWidthMm ?? 0.3, 0.5 * g.spacingMm);
  const last = a.layerCount - 1;
  // Seams never cross: each stays ≥ 3 mm below the one above it.
  const seamZ = (k: number, x: number): number => {
    const z = a.layerZ(last, x) + seams[k]!.depthMm + seams[k]!.slope * x + 2 * wobble(x, 10 * k);
    return k === 0 ? Math.max(z, a.layerZ(last, x) + 3) : Math.max(z, seamZ(k - 1, x) + 3);
  };
  const seamAmp = seams.map(() => rng.range(2, 6));
  const cell = { cell: 0, septum: 0 };
  for (let idx = 0; idx < maps.sigma.length; idx++) {
    const x = g.xMm[idx]!;
    const z = g.zMm[idx]!;
    const skin = a.skinZ(x);
    const inc = incidence((a.skinZ(x + 1) - a.skinZ(x - 1)) / 2);
    let sigma = 0.015;
    let coh = 16 * gain * inc * lineProfile(z - skin, lineW * 1.2);
    if (z >= skin && z < a.layerZ(0, x)) sigma = dermis;
    else if (z >= skin && z < a.layerZ(last, x))
      sigma = fatAmp * (1 + 0.4 * blotch(x, z)) * (0.6 + 1.5 * Math.max(0, streakNoise(x / 8, z)));
    else if (z >= skin) {
      let layer = 0;
      while (layer < seams.length && z >= seamZ(layer, x)) layer++;
      textures[layer]!(x, z, cell);
      const below = Math.max(0, z - a.layerZ(last, x) - 40);
      sigma =
        levels[layer]! *
          (1 - 0.5 * p.deepHaze * Math.min(1, below / 40)) *
          (1 + 0.3 * blotch(x, z)) *
          (0.6 + 1.2 * Math.max(0, streakNoise(x / 8, z)) + 0.2 * cell.cell) +
        0.4 * cell.septum;
    }
    for (let k = 0; k < a.layerCount; k++) {
      const d = z - a.layerZ(k, x);
      if (d > -4 && d < 4)
        coh +=
          (k === 0 ? 9 : 7) *
          gain *
          inc *
          (0.4 + 0.6 * Math.max(0, 0.5 + grain(x, 7 * k))) *
          lineProfile(d, lineW);
    }
    for (let k = 0; k < seams.length; k++) {
      const d = z - seamZ(k, x);
      if (d > -4 && d < 4) {
        const tilt = incidence(seams[k]!.slope, 2.5);
        // Intermuscular fascia: grainy and broken along its length, like the ribeye's fascia.
        const along = Math.max(0, grain(x, 40 + 7 * k) + 0.2);
        coh += seamAmp[k]! * gain * tilt * along * lineProfile(d, lineW * 1.5);
      }
    }
    maps.sigma[idx] = sigma + 0.4 * coh;
    maps.coherent[idx] = coh;
  }
  const boneTop = (k: number, x: number) => a.boneTop(k, x);
  addBoneSurfaces(g, p, maps, boneTop);
  addReverberation(g, p, maps, a.skinZ);
  applyBoneShadows(g, p, maps, boneTop);
  applyDropouts(g, p, maps);
  return maps;
}
