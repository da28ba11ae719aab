import type { Rng } from '../prng.ts';
import type { PhantomParams } from './phantom-types.ts';
import { createRibeyeAnatomy, type RibeyeAnatomy } from './ribeye-anatomy.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { addBoneSurfaces, addReverberation, applyBoneShadows, applyDropouts } from './scene-effects.ts';
import { createTissueMaps, incidence, lineProfile, stamp, strand, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

/** Fill the beam-grid maps for a transverse ribeye view; returns the maps and the anatomy used. */
export function buildRibeyeScene(
  g: ScanGeometry,
  p: PhantomParams,
  rng: Rng,
): { maps: TissueMaps; anatomy: RibeyeAnatomy } {
  const anatomy = createRibeyeAnatomy(p, rng.int(0, 2 ** 30));
  const maps = createTissueMaps(g);
  fillLayers(g, p, anatomy, maps, rng.int(0, 2 ** 30));
  addMarbling(g, p, anatomy, maps, rng.fork('marbling'));
  addBoneSurfaces(g, p, maps, (b, x) => anatomy.boneTop(b, x));
  addReverberation(g, p, maps, anatomy.skinZ);
  applyBoneShadows(g, p, maps, (b, x) => anatomy.boneTop(b, x));
  applyDropouts(g, p, maps);
  return { maps, anatomy };
}

function fillLayers(
  g: ScanGeometry,
  p: PhantomParams,
  a: RibeyeAnatomy,
  maps: TissueMaps,
  seed: number,
): void {
  const blotch = createValueNoise(seed, 7);
  const fine = createValueNoise(seed + 1, 2.2);
  const fascia = createValueNoise(seed + 2, 14);
  const deep = createValueNoise(seed + 3, 30);
  const lineW = Math.max(0.35, 0.55 * g.spacingMm);
  const ribeyeAmp = 10 ** (p.ribeyeEchoDb / 20);
  const fasciaCut = 1 - 2 * p.fasciaVisibility;
  const n = g.lines * g.samples;
  for (let idx = 0; idx < n; idx++) {
    const x = g.xMm[idx]!;
    const z = g.zMm[idx]!;
    const skin = a.skinZ(x);
    const slope = (a.skinZ(x + 1) - a.skinZ(x - 1)) / 2;
    const inc = incidence(slope);
    let sigma: number;
    let coh = 0;
    if (z < skin) {
      sigma = 0.02;
    } else if (z < a.layerZ(0, x)) {
      sigma = 1.3 * (1 + 0.3 * fine(x, z));
    } else {
      const top = a.ribeyeTop(x);
      if (z < top) sigma = 0.3 * (1 + 0.5 * blotch(x, z)) * (1 + 0.4 * fine(x, z));
      else if (a.inRibeye(x, z)) {
        maps.mask[idx] = 1;
        sigma = ribeyeAmp * (1 + 0.45 * blotch(x, z)) * (1 + 0.25 * fine(x, z));
      } else {
        const depthFade = 1 - 0.5 * p.deepHaze * Math.min(1, (z - top) / (0.6 * g.depthMm));
        sigma = 0.7 * depthFade * (1 + 0.45 * blotch(x, z) + 0.25 * deep(x, z)) * (1 + 0.3 * fine(x, z));
      }
    }
    coh += 5 * inc * lineProfile(z - skin, lineW);
    for (let k = 0; k < a.layerCount; k++) {
      const strength = k === 0 ? 3.2 : k === a.layerCount - 1 ? 3 : 2.2;
      const d = z - a.layerZ(k, x);
      if (d > -4 && d < 4) coh += strength * inc * (0.6 + 0.4 * fascia(x, 3 * k)) * lineProfile(d, lineW);
    }
    const bottom = a.ribeyeBottom(x);
    if (bottom > Number.NEGATIVE_INFINITY) {
      const d = z - bottom;
      const visible = Math.max(0, Math.min(1, (fascia(x, 40) - fasciaCut) * 2));
      if (d > -4 && d < 4) coh += 3.2 * visible * lineProfile(d, lineW * 1.3);
    }
    maps.sigma[idx] = Math.max(0, sigma);
    maps.coherent[idx] = coh;
  }
}

function addMarbling(g: ScanGeometry, p: PhantomParams, a: RibeyeAnatomy, maps: TissueMaps, rng: Rng): void {
  const areaCm2 = (p.ribeyeWidthMm * p.ribeyeHeightMm * 0.7) / 100;
  const flecks = Math.round(3 + p.marblingDensity * areaCm2 * 2.5);
  const inside = () => {
    for (let t = 0; t < 20; t++) {
      const x = p.ribeyeCenterXMm + rng.range(-0.5, 0.5) * p.ribeyeWidthMm;
      const top = a.ribeyeTop(x);
      const bottom = a.ribeyeBottom(x);
      if (bottom > top + 1) return { x, z: rng.range(top, bottom) };
    }
    return null;
  };
  for (let f = 0; f < flecks; f++) {
    const at = inside();
    if (!at) continue;
    const big = rng.chance(0.2);
    stamp(
      g,
      maps,
      {
        xMm: at.x,
        zMm: at.z,
        rxMm: rng.range(0.5, big ? 3.5 : 1.8),
        rzMm: rng.range(0.25, big ? 1 : 0.6),
        sigma: rng.range(1, 3.2),
        coherent: rng.range(0, 1.2),
      },
      true,
    );
  }
  const strands = Math.round(2 + p.marblingDensity * 10);
  for (let s = 0; s < strands; s++) {
    const at = inside();
    if (!at) continue;
    strand(g, maps, rng, {
      xMm: at.x,
      zMm: at.z,
      lengthMm: rng.range(6, 40),
      angle: rng.range(-Math.PI, Math.PI),
      widthMm: rng.range(0.25, 0.6),
      sigma: rng.range(0.6, 1.8),
      coherent: rng.range(0.3, 1.2),
    });
  }
}
