import type { Rng } from '../prng.ts';
import { createCellTexture } from './muscle-texture.ts';
import type { PhantomParams } from './phantom-types.ts';
import { createRibeyeAnatomy, NO_RIBEYE, type RibeyeAnatomy } from './ribeye-anatomy.ts';
import { addRibeyeHalo } from './ribeye-halo.ts';
import { applyRibeyeRealism } from './ribeye-realism.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { addBoneSurfaces, addReverberation, applyBoneShadows, applyDropouts } from './scene-effects.ts';
import { createTissueMaps, incidence, lineProfile, stamp, strand, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise, tabulate } from './value-noise.ts';

/** Fill the beam-grid maps for a transverse ribeye view; returns the maps and the anatomy used. */
export function buildRibeyeScene(
  g: ScanGeometry,
  p: PhantomParams,
  rng: Rng,
): { maps: TissueMaps; anatomy: RibeyeAnatomy } {
  const anatomy = createRibeyeAnatomy(p, rng.int(0, 2 ** 30), g.bounds, 0.5 * g.spacingMm);
  const maps = createTissueMaps(g);
  fillLayers(g, p, anatomy, maps, rng.fork('layers'));
  applyRibeyeRealism(g, p, anatomy, maps, rng.fork('realism'));
  addRibeyeHalo(g, p, anatomy, maps, rng.fork('halo'));
  addMarbling(g, p, anatomy, maps, rng.fork('marbling'));
  addBoneSurfaces(g, p, maps, (b, x) => anatomy.boneTop(b, x));
  addReverberation(g, p, maps, anatomy.skinZ);
  applyBoneShadows(g, p, maps, (b, x) => anatomy.boneTop(b, x));
  applyDropouts(g, p, maps);
  return { maps, anatomy };
}

function fillLayers(g: ScanGeometry, p: PhantomParams, a: RibeyeAnatomy, maps: TissueMaps, rng: Rng): void {
  const b = g.bounds;
  const blotch = createValueNoise(rng.int(0, 2 ** 30), 7, b);
  const fine = createValueNoise(rng.int(0, 2 ** 30), 2.2, b);
  const fascia = createValueNoise(rng.int(0, 2 ** 30), 14, b);
  const deep = createValueNoise(rng.int(0, 2 ** 30), 30, b);
  // Laminar streaks (fat lobules, fibre bundles cut lengthwise): noise squeezed 8× along X.
  const streakCell = rng.range(0.8, 1.6);
  const streakNoise = createValueNoise(rng.int(0, 2 ** 30), streakCell, { ...b, x0: b.x0 / 8, x1: b.x1 / 8 });
  const streak = (x: number, z: number) => Math.max(0, streakNoise(x / 8, z));
  const fascicles = createCellTexture(rng.int(0, 2 ** 30), {
    cellMm: rng.range(3, 11),
    aspect: rng.range(1, 1.8),
    septa: 0.2 + 0.5 * p.marblingDensity,
    widthMm: Math.max(rng.range(0.12, 0.3), 0.3 * g.spacingMm),
    bounds: b,
  });
  const otherMuscle = createCellTexture(rng.int(0, 2 ** 30), {
    cellMm: rng.range(4, 10),
    aspect: rng.range(1.2, 3),
    septa: rng.range(0.2, 0.6),
    widthMm: Math.max(0.3, 0.4 * g.spacingMm),
    bounds: b,
  });
  const cell = { cell: 0, septum: 0 };
  const lineW = Math.max(p.interfaceWidthMm ?? 0.3, 0.5 * g.spacingMm);
  const ribeyeAmp = 10 ** (p.ribeyeEchoDb / 20);
  const fatAmp = rng.range(0.35, 1.6);
  const fatStreaks = rng.range(0.5, 2.5);
  // Septa relative to the ribeye's own echo: a visible network that does not drown its speckle.
  const septaAmp = ribeyeAmp * rng.range(0.3, 2.5);
  const cellContrast = rng.range(0.15, 0.5);
  const muscleAmp = rng.range(0.8, 1.5);
  const otherSepta = rng.range(0.1, 0.6);
  const dermis = rng.range(1.5, 3.5);
  const gain = p.interfaceGain ?? 1;
  // Interfaces are semi-specular: bright but grainy and broken along their length.
  const grain = createValueNoise(rng.int(0, 2 ** 30), rng.range(1.2, 3), b);
  const interfaceAt = (x: number, k: number) => 0.35 + 0.65 * Math.max(0, 0.5 + grain(x, 7 * k));
  const fasciaCut = 1 - 2 * p.fasciaVisibility;
  const topC = a.ribeyeTop(p.ribeyeCenterXMm);
  const skinIncidence = tabulate((x) => incidence((a.skinZ(x + 1) - a.skinZ(x - 1)) / 2), b.x0, b.x1, 0.5);
  const bottomSlope = tabulate(
    (x) => (a.ribeyeBottom(x + 0.5) - a.ribeyeBottom(x - 0.5)) / 1,
    b.x0,
    b.x1,
    0.5,
  );
  // Textures belong to the tissue: a probe sway (tissueShiftMm) moves them with the anatomy.
  const shift = p.tissueShiftMm ?? 0;
  const n = g.lines * g.samples;
  for (let idx = 0; idx < n; idx++) {
    const x = g.xMm[idx]!;
    const z = g.zMm[idx]!;
    const tx = x - shift;
    const skin = a.skinZ(x);
    const inc = skinIncidence(x);
    let sigma: number;
    let coh = 0;
    if (z < skin) sigma = 0.015;
    else if (z < a.layerZ(0, x)) sigma = dermis * (1 + 0.3 * fine(tx, z));
    else {
      const top = a.ribeyeTop(x);
      if (z < top) sigma = fatAmp * (1 + 0.4 * blotch(tx, z)) * (0.6 + fatStreaks * streak(tx, z));
      else if (z <= a.ribeyeBottom(x)) {
        maps.mask[idx] = 1;
        fascicles(tx, z, cell);
        sigma =
          ribeyeAmp * (1 + cellContrast * cell.cell) * (1 + 0.3 * blotch(tx, z)) + septaAmp * cell.septum;
        coh = 0.5 * septaAmp * cell.septum;
      } else {
        otherMuscle(tx, z, cell);
        // Below the ribeye's level tissue fades (fewer strong scatterers, beam spread): real deep
        // fields are dark and low in contrast.
        const below = Math.max(0, z - topC - p.ribeyeHeightMm - 5);
        const depthFade = 1 - (0.35 + 0.55 * p.deepHaze) * Math.min(1, below / 30);
        sigma =
          muscleAmp *
            depthFade *
            (1 + 0.35 * blotch(tx, z) + 0.25 * deep(tx, z)) *
            (0.6 + 1.2 * streak(tx, z) + 0.2 * cell.cell) +
          // The muscles around the ribeye read as streaky, not as its polygonal septa network.
          otherSepta * cell.septum;
      }
    }
    let lit = 16 * gain * inc * (0.6 + 0.4 * interfaceAt(tx, 0)) * lineProfile(z - skin, lineW * 1.2);
    for (let k = 0; k < a.layerCount; k++) {
      const d = z - a.layerZ(k, x);
      if (d < -4 || d > 4) continue;
      const strength = k === 0 ? 9 : k === a.layerCount - 1 ? 8 : 6;
      lit +=
        strength *
        gain *
        inc *
        interfaceAt(tx, k + 1) *
        (0.5 + 0.5 * fascia(tx, 3 * k)) *
        lineProfile(d, lineW);
    }
    const bottom = a.ribeyeBottom(x);
    if (bottom > NO_RIBEYE) {
      const d = z - bottom;
      if (d > -6 && d < 4) {
        // Distance across the boundary, not along the beam: steep lens ends stay thin lines.
        const slope = bottomSlope(x);
        const across = d / Math.sqrt(1 + slope * slope);
        const visible = Math.max(0, Math.min(1, (fascia(tx, 40) - fasciaCut) * 2));
        const tilt = incidence(slope, 2.5);
        lit += gain * 7 * visible * tilt * interfaceAt(tx, 9) * lineProfile(across, lineW * 1.5);
      }
    }
    coh += lit;
    sigma += 0.4 * lit;
    maps.sigma[idx] = Math.max(sigma, 0);
    maps.coherent[idx] = coh;
  }
}

function addMarbling(g: ScanGeometry, p: PhantomParams, a: RibeyeAnatomy, maps: TissueMaps, rng: Rng): void {
  const areaCm2 = (p.ribeyeWidthMm * p.ribeyeHeightMm * 0.7) / 100;
  const flecks = Math.round(3 + p.marblingDensity * areaCm2 * 2.5);
  // Fat flecks echo a few times brighter than the muscle around them, whatever its level.
  const amp = 10 ** (p.ribeyeEchoDb / 20);
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
        rzMm: rng.range(0.2, big ? 0.8 : 0.5),
        sigma: amp * rng.range(1.5, 5),
        coherent: amp * rng.range(0, 1.5),
      },
      true,
    );
  }
  const strands = Math.round(p.marblingDensity * 4);
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
