import { createRng } from '../prng.ts';

/** Physical extent a noise field must cover (mm); lookups outside are clamped to the edge. */
export type NoiseBounds = { x0: number; x1: number; z0: number; z1: number };

/**
 * Smooth 2-D value noise in [-1, 1] with features about `cellMm` across: a random lattice over the
 * field with smoothstep interpolation. Used for slow tissue inhomogeneity, wobbly boundaries and
 * partly visible fascia. Deterministic from the seed; the lattice is an array, so a lookup is a
 * handful of multiplies (it runs for every sample of the beam grid).
 */
export function createValueNoise(
  seed: number,
  cellMm: number,
  b: NoiseBounds,
): (xMm: number, zMm: number) => number {
  const nx = Math.max(2, Math.ceil((b.x1 - b.x0) / cellMm) + 2);
  const nz = Math.max(2, Math.ceil((b.z1 - b.z0) / cellMm) + 2);
  const rng = createRng(seed);
  const lattice = new Float32Array(nx * nz);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next() * 2 - 1;
  const inv = 1 / cellMm;
  return (xMm, zMm) => {
    let fx = (xMm - b.x0) * inv;
    let fz = (zMm - b.z0) * inv;
    fx = fx < 0 ? 0 : Math.min(fx, nx - 1.001);
    fz = fz < 0 ? 0 : Math.min(fz, nz - 1.001);
    const ix = fx | 0;
    const iz = fz | 0;
    const tx = fx - ix;
    const tz = fz - iz;
    const sx = tx * tx * (3 - 2 * tx);
    const sz = tz * tz * (3 - 2 * tz);
    const o = iz * nx + ix;
    const a00 = lattice[o]!;
    const a10 = lattice[o + 1]!;
    const a01 = lattice[o + nx]!;
    const a11 = lattice[o + nx + 1]!;
    const a = a00 + (a10 - a00) * sx;
    const c = a01 + (a11 - a01) * sx;
    return a + (c - a) * sz;
  };
}

/** 1-D variant along a boundary. */
export function createCurveNoise(seed: number, cellMm: number, b: NoiseBounds): (xMm: number) => number {
  const noise = createValueNoise(seed, cellMm, { ...b, z0: 0, z1: 2 * cellMm });
  return (xMm) => noise(xMm, 0.5 * cellMm);
}

/**
 * Tabulate a function of X over [x0, x1] with linear interpolation: the anatomy's curves are
 * evaluated once per 1/2 pixel instead of once per sample.
 */
export function tabulate(
  fn: (x: number) => number,
  x0: number,
  x1: number,
  step: number,
): (x: number) => number {
  const n = Math.max(2, Math.ceil((x1 - x0) / step) + 1);
  const table = new Float64Array(n);
  for (let i = 0; i < n; i++) table[i] = fn(x0 + i * step);
  const inv = 1 / step;
  return (x) => {
    const f = (x - x0) * inv;
    if (f <= 0 || f >= n - 1) return fn(x);
    const i = f | 0;
    const t = f - i;
    return table[i]! + (table[i + 1]! - table[i]!) * t;
  };
}
