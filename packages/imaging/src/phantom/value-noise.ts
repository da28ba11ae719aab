import { mix32 } from '../prng.ts';

/**
 * Smooth 2-D value noise in [-1, 1] with features about `cellMm` across: a hashed lattice (no
 * storage, deterministic from the seed) with smoothstep interpolation. Used for slow tissue
 * inhomogeneity, wobbly boundaries and partly visible fascia.
 */
export function createValueNoise(seed: number, cellMm: number): (xMm: number, zMm: number) => number {
  const lattice = (ix: number, iz: number): number => {
    const h = mix32(seed ^ Math.imul(ix, 73856093) ^ Math.imul(iz, 19349663));
    return (h / 4294967296) * 2 - 1;
  };
  return (xMm, zMm) => {
    const fx = xMm / cellMm;
    const fz = zMm / cellMm;
    const ix = Math.floor(fx);
    const iz = Math.floor(fz);
    const tx = fx - ix;
    const tz = fz - iz;
    const sx = tx * tx * (3 - 2 * tx);
    const sz = tz * tz * (3 - 2 * tz);
    const a = lattice(ix, iz) + (lattice(ix + 1, iz) - lattice(ix, iz)) * sx;
    const b = lattice(ix, iz + 1) + (lattice(ix + 1, iz + 1) - lattice(ix, iz + 1)) * sx;
    return a + (b - a) * sz;
  };
}

/** 1-D variant along a boundary. */
export function createCurveNoise(seed: number, cellMm: number): (xMm: number) => number {
  const noise = createValueNoise(seed, cellMm);
  return (xMm) => noise(xMm, 0.5 * cellMm);
}
