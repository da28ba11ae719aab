import { createRng, mix32 } from '../prng.ts';
import type { NoiseBounds } from './value-noise.ts';

/** Result slot reused across calls (the texture runs for every ribeye sample). */
export type CellSample = { cell: number; septum: number };

/**
 * Muscle in cross-section: fibre bundles (fascicles) as Voronoi cells of a jittered lattice, each with
 * its own echo level, separated by thin perimysial septa — the polygonal network of bright lines
 * over darker patches that real ribeye scans show. `septa` (0–1) is the share of cell borders drawn;
 * cells are stretched laterally by `aspect` like the fascicles' oblique cut.
 */
export function createCellTexture(
  seed: number,
  o: { cellMm: number; aspect: number; septa: number; widthMm: number; bounds: NoiseBounds },
): (xMm: number, zMm: number, out: CellSample) => CellSample {
  const cx = o.cellMm * o.aspect;
  const cz = o.cellMm;
  const nx = Math.ceil((o.bounds.x1 - o.bounds.x0) / cx) + 3;
  const nz = Math.ceil((o.bounds.z1 - o.bounds.z0) / cz) + 3;
  const rng = createRng(seed);
  const px = new Float32Array(nx * nz);
  const pz = new Float32Array(nx * nz);
  const level = new Float32Array(nx * nz);
  for (let k = 0; k < px.length; k++) {
    px[k] = rng.range(0.1, 0.9);
    pz[k] = rng.range(0.1, 0.9);
    level[k] = rng.range(-1, 1);
  }
  const threshold = Math.round((1 - o.septa) * 1024);
  const w2 = (o.widthMm / cz) ** 2;
  return (xMm, zMm, out) => {
    const fx = (xMm - o.bounds.x0) / cx + 1;
    const fz = (zMm - o.bounds.z0) / cz + 1;
    const ix = Math.min(nx - 2, Math.max(1, fx | 0));
    const iz = Math.min(nz - 2, Math.max(1, fz | 0));
    let d1 = 1e9;
    let d2 = 1e9;
    let k1 = 0;
    let k2 = 0;
    for (let dz = -1; dz <= 1; dz++) {
      for (let dx = -1; dx <= 1; dx++) {
        const k = (iz + dz) * nx + ix + dx;
        const ex = ix + dx + px[k]! - fx;
        const ez = iz + dz + pz[k]! - fz;
        const d = ex * ex + ez * ez;
        if (d < d1) {
          d2 = d1;
          k2 = k1;
          d1 = d;
          k1 = k;
        } else if (d < d2) {
          d2 = d;
          k2 = k;
        }
      }
    }
    // Distance to the bisector between the two nearest sites ≈ (d2 - d1) / (2·|site1 - site2|).
    const sx = (k1 % nx) + px[k1]! - (k2 % nx) - px[k2]!;
    const sz = Math.floor(k1 / nx) + pz[k1]! - Math.floor(k2 / nx) - pz[k2]!;
    const gap = (d2 - d1) / (2 * Math.sqrt(sx * sx + sz * sz) + 1e-6);
    const pair = mix32(Math.min(k1, k2) * 65599 + Math.max(k1, k2) + seed) & 1023;
    out.cell = level[k1]!;
    out.septum = pair >= threshold ? Math.exp((-0.5 * gap * gap) / w2) : 0;
    return out;
  };
}
