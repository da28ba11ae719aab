import type { Rng } from '../prng.ts';
import type { ScanGeometry } from './scan-geometry.ts';

/**
 * Per-sample scattering maps on the beam grid, filled by the anatomy builders:
 * - sigma: amplitude of diffuse (Rayleigh) scatterers, 1 = reference muscle;
 * - coherent: specular reflectors (interfaces) that add in phase and stay continuous;
 * - transmission: what is left of the beam there after bone, dropouts (multiplies the echo);
 * - mask: ribeye membership.
 */
export type TissueMaps = {
  sigma: Float32Array;
  coherent: Float32Array;
  transmission: Float32Array;
  mask: Uint8Array;
};

export function createTissueMaps(g: ScanGeometry): TissueMaps {
  const n = g.lines * g.samples;
  return {
    sigma: new Float32Array(n),
    coherent: new Float32Array(n),
    transmission: new Float32Array(n).fill(1),
    mask: new Uint8Array(n),
  };
}

/** Gaussian profile of a thin interface at distance d; never thinner than the grid can show. */
export function lineProfile(d: number, widthMm: number): number {
  const q = d / widthMm;
  return q > 3 || q < -3 ? 0 : Math.exp(-0.5 * q * q);
}

/** Specular brightness falls as the interface tilts away from the beam. */
export function incidence(slope: number, sharpness = 3): number {
  return 1 / (1 + (sharpness * slope) ** 2);
}

type Stamp = { xMm: number; zMm: number; rxMm: number; rzMm: number; sigma: number; coherent: number };

/** Add an elliptic Gaussian blob (marbling fleck, septum segment, bright dot) to the maps. */
export function stamp(g: ScanGeometry, maps: TissueMaps, s: Stamp, onlyMask = false): void {
  const at = g.toGrid(s.xMm, s.zMm);
  if (!at) return;
  const sampleMm = g.depthMm / g.samples;
  const hl = Math.ceil((2.5 * s.rxMm) / g.lineSpacingAt(s.zMm)) + 1;
  const hs = Math.ceil((2.5 * s.rzMm) / sampleMm) + 1;
  const l0 = Math.max(0, Math.floor(at.line - hl));
  const l1 = Math.min(g.lines - 1, Math.ceil(at.line + hl));
  const s0 = Math.max(0, Math.floor(at.sample - hs));
  const s1 = Math.min(g.samples - 1, Math.ceil(at.sample + hs));
  for (let j = s0; j <= s1; j++) {
    for (let i = l0; i <= l1; i++) {
      const idx = j * g.lines + i;
      if (onlyMask && maps.mask[idx] === 0) continue;
      const dx = (g.xMm[idx]! - s.xMm) / s.rxMm;
      const dz = (g.zMm[idx]! - s.zMm) / s.rzMm;
      const q = dx * dx + dz * dz;
      if (q > 6.25) continue;
      const w = Math.exp(-0.5 * q);
      maps.sigma[idx] = maps.sigma[idx]! + s.sigma * w;
      maps.coherent[idx] = maps.coherent[idx]! + s.coherent * w;
    }
  }
}

/** A meandering bright strand (perimysial septum, connective tissue) as a chain of stamps. */
export function strand(
  g: ScanGeometry,
  maps: TissueMaps,
  rng: Rng,
  s: {
    xMm: number;
    zMm: number;
    lengthMm: number;
    angle: number;
    widthMm: number;
    sigma: number;
    coherent: number;
    /** Random turn per step, radians (default 0.18: a meandering septum). */
    bendRad?: number;
  },
  onlyMask = true,
): void {
  const step = Math.max(0.4, 0.7 * g.spacingMm);
  let { xMm: x, zMm: z, angle } = s;
  for (let t = 0; t < s.lengthMm; t += step) {
    const fade = Math.sin((Math.PI * (t + step / 2)) / s.lengthMm);
    stamp(
      g,
      maps,
      {
        xMm: x,
        zMm: z,
        rxMm: s.widthMm * 1.6,
        rzMm: s.widthMm,
        sigma: s.sigma * fade,
        coherent: s.coherent * fade,
      },
      onlyMask,
    );
    angle += rng.normal() * (s.bendRad ?? 0.18);
    x += Math.cos(angle) * step;
    z += Math.sin(angle) * step;
  }
}
