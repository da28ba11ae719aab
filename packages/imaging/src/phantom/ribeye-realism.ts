import type { Rng } from '../prng.ts';
import { createCellTexture } from './muscle-texture.ts';
import type { PhantomParams, RibeyeRealism } from './phantom-types.ts';
import type { RibeyeAnatomy } from './ribeye-anatomy.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { lineProfile, strand, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * What real ribeyes show that a clean lens lacks (opt-in `realism`, training preset only, from its
 * own fork: every other draw stays put; without it a phantom renders exactly as before):
 * - fascia lines INSIDE the lens (between the longissimus' own bundles; hzau-201615 has a long
 *   bright one near its lateral end), so a bright line is not always the ribeye's boundary;
 * - the lens' part beyond one of those lines echoing darker or brighter (its lateral part);
 * - muscles beside the lens with the ribeye's own texture and level, only a thin fascia between
 *   (ustool-109A's right side); the segmentation must follow the lens, not the texture;
 * - a floor without a bright fascia, the muscle below it looking like the ribeye.
 * Returns the overrides for the sampled params (the halo and floor fascia are weakened with them).
 */
export function sampleRealism(a: Rng, p: PhantomParams): Partial<PhantomParams> {
  const fasciaCount = a.pick([0, 0, 1, 1, 2]);
  const internalFascia = Array.from({ length: fasciaCount }, () => ({
    // Where it starts across the lens (0 = left end, 1 = right end) and below its top (share of height).
    atFrac: round(a.range(0.15, 0.85), 3),
    startFrac: round(a.range(0, 0.5), 3),
    // They run down and sideways (25–80° from the horizontal, to the left or the right).
    angleDeg: round(a.chance(0.5) ? a.range(25, 80) : 180 - a.range(25, 80), 1),
    lengthMm: round(a.range(0.4, 1.2) * p.ribeyeHeightMm, 1),
    brightness: round(a.range(0.5, 2), 2),
  }));
  const split = fasciaCount > 0 && a.chance(0.45);
  const lateralEcho: RibeyeRealism['lateralEcho'] = split
    ? {
        side: a.chance(0.5) ? 'left' : 'right',
        db: round(a.chance(0.7) ? a.range(-7, -2) : a.range(1.5, 4), 1),
      }
    : null;
  const neighbours: RibeyeRealism['neighbours'] = [];
  const nCount = a.pick([0, 0, 1, 1, 1, 2]);
  for (let i = 0; i < nCount; i++) {
    neighbours.push({
      side: nCount === 2 ? (i === 0 ? 'left' : 'right') : a.chance(0.5) ? 'left' : 'right',
      widthMm: round(a.range(25, 80), 1),
      heightMm: round(a.range(0.3, 1.1) * p.ribeyeHeightMm, 1),
      overlapMm: round(a.range(0.05, 0.3) * p.ribeyeWidthMm, 1),
      db: round(a.range(-2.5, 2.5), 1),
      // Often the bright floor runs on under the neighbour (ustool-109A: the floor line continues
      // past the lens' lateral end, only a faint line between lens and neighbour).
      floorLine: round(a.chance(0.6) ? a.range(0.5, 1.2) : 0, 2),
    });
  }
  const floorMimicMm = a.chance(0.2) ? round(a.range(4, 16), 1) : 0;
  const realism: RibeyeRealism = {
    internalFascia,
    lateralEcho,
    neighbours,
    floorMimicMm,
    cellMm: round(a.range(3, 11), 2),
  };
  const out: Partial<PhantomParams> = { realism };
  // Only a thin fascia between look-alike muscles: the wrapping band mostly gone.
  if (neighbours.length > 0) out.seamStrength = round(Math.min(p.seamStrength ?? 0, a.range(0, 0.8)), 2);
  if (floorMimicMm > 0) out.fasciaVisibility = round(Math.min(p.fasciaVisibility, a.range(0, 0.2)), 2);
  return out;
}

/**
 * Apply `p.realism` to the filled maps (after the layers, before the halo): echoes only, never the
 * mask (the label is the anatomy's lens whatever it looks like).
 */
export function applyRibeyeRealism(
  g: ScanGeometry,
  p: PhantomParams,
  a: RibeyeAnatomy,
  maps: TissueMaps,
  rng: Rng,
): void {
  const r = p.realism;
  if (!r) return;
  const shift = p.tissueShiftMm ?? 0;
  const half = p.ribeyeWidthMm / 2;
  const cx = p.ribeyeCenterXMm;
  const left = cx - half;
  const topC = a.ribeyeTop(cx);
  const ribeyeAmp = 10 ** (p.ribeyeEchoDb / 20);
  const gain = p.interfaceGain ?? 1;
  const lines = r.internalFascia.map((f) => {
    const x = left + f.atFrac * p.ribeyeWidthMm;
    const top = a.ribeyeTop(x);
    const bottom = a.ribeyeBottom(x);
    const z = top + f.startFrac * Math.max(2, bottom - top);
    const angle = (f.angleDeg * Math.PI) / 180;
    return { x, z, dx: Math.cos(angle), dz: Math.sin(angle), f };
  });
  // The lens' part on one side of the first inner fascia line echoes at its own level.
  if (r.lateralEcho && lines[0]) {
    const l = lines[0];
    const factor = 10 ** (r.lateralEcho.db / 20);
    const sign = r.lateralEcho.side === 'right' ? 1 : -1;
    // Signed distance across the line (normal pointing right, i.e. +x, for any angle).
    const nx = l.dz >= 0 ? l.dz : -l.dz;
    const nz = l.dz >= 0 ? -l.dx : l.dx;
    for (let idx = 0; idx < maps.mask.length; idx++) {
      if (!maps.mask[idx]) continue;
      const d = (g.xMm[idx]! - l.x) * nx + (g.zMm[idx]! - l.z) * nz;
      if (sign * d > 0) maps.sigma[idx] = maps.sigma[idx]! * factor;
    }
  }
  // Look-alike muscle beside the lens and under its floor: the ribeye's echo level and a fascicle
  // network of the same scale (its own cells), replacing the streaky "other muscle".
  if (r.neighbours.length > 0 || r.floorMimicMm > 0) {
    const cells = createCellTexture(rng.int(0, 2 ** 30), {
      cellMm: r.cellMm,
      aspect: rng.range(1, 1.8),
      septa: 0.2 + 0.5 * p.marblingDensity,
      widthMm: Math.max(rng.range(0.12, 0.3), 0.3 * g.spacingMm),
      bounds: g.bounds,
    });
    const blotch = createValueNoise(rng.int(0, 2 ** 30), 7, g.bounds);
    const septaAmp = ribeyeAmp * rng.range(0.3, 2);
    const contrast = rng.range(0.15, 0.5);
    const cell = { cell: 0, septum: 0 };
    const zones = r.neighbours.map((nb) => {
      const centre =
        nb.side === 'left' ? left + nb.overlapMm - nb.widthMm / 2 : cx + half - nb.overlapMm + nb.widthMm / 2;
      return {
        centre,
        half: nb.widthMm / 2,
        height: nb.heightMm,
        amp: 10 ** (nb.db / 20),
        line: nb.floorLine,
      };
    });
    const lineW = Math.max(p.interfaceWidthMm ?? 0.3, 0.5 * g.spacingMm);
    for (let idx = 0; idx < maps.mask.length; idx++) {
      if (maps.mask[idx]) continue;
      const x = g.xMm[idx]!;
      const z = g.zMm[idx]!;
      const top = a.ribeyeTop(x);
      if (z < top + 0.3) continue;
      let level = 0;
      for (const zn of zones) {
        const s = (x - zn.centre) / zn.half;
        if (s <= -1 || s >= 1) continue;
        const floor = 0.55 * topC + 0.45 * top + zn.height * Math.sqrt(1 - s * s);
        if (z <= floor) level = zn.amp;
        const d = z - floor;
        if (zn.line > 0 && d > -3 * lineW && d < 3 * lineW)
          maps.coherent[idx] = maps.coherent[idx]! + 7 * gain * zn.line * lineProfile(d, 1.5 * lineW);
      }
      if (level === 0 && r.floorMimicMm > 0) {
        const bottom = a.ribeyeBottom(x);
        // Fades out over its depth: the deep muscle is not a second ribeye.
        if (z > bottom && z <= bottom + r.floorMimicMm) level = 1 - 0.5 * ((z - bottom) / r.floorMimicMm);
      }
      if (level === 0) continue;
      const tx = x - shift;
      cells(tx, z, cell);
      maps.sigma[idx] =
        level * ribeyeAmp * (1 + contrast * cell.cell) * (1 + 0.3 * blotch(tx, z)) + septaAmp * cell.septum;
    }
  }
  // Inner fascia lines last (on top of any level change), inside the lens only.
  for (const l of lines) {
    strand(g, maps, rng, {
      xMm: l.x,
      zMm: l.z,
      lengthMm: l.f.lengthMm,
      angle: Math.atan2(l.dz, l.dx),
      widthMm: Math.max(0.3, 0.5 * g.spacingMm),
      sigma: ribeyeAmp * 1.5 * l.f.brightness,
      coherent: gain * l.f.brightness,
      // Fascia sheets are nearly straight in section (septa meander).
      bendRad: 0.04,
    });
  }
}
