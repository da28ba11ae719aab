/**
 * Seeded pseudo-random numbers (sfc32 seeded through splitmix32). Every phantom is a pure function of
 * its seed, so nothing in this package may call Math.random.
 *
 * @example
 * const rng = createRng(42);
 * const depth = rng.range(10, 24);
 */
export type Rng = {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  range(min: number, max: number): number;
  /** Integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** Standard normal (Box–Muller, both outputs used). */
  normal(): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** An independent stream derived from this one's seed and a label: adding draws to one part of
   * the generator then does not shift every other part. */
  fork(label: string): Rng;
  readonly seed: number;
};

/** Mix a value into a 32-bit hash (splitmix32 finaliser). */
export function mix32(h: number): number {
  let z = (h + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Hash a seed together with a string label or index into a new 32-bit seed. */
export function deriveSeed(seed: number, label: string | number): number {
  let h = mix32(seed >>> 0);
  const text = String(label);
  for (let i = 0; i < text.length; i++) h = mix32(h ^ text.charCodeAt(i));
  return mix32(h ^ text.length);
}

export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const base = Math.floor(Math.abs(seed)) >>> 0;
  let a = mix32(base);
  let b = mix32(a);
  let c = mix32(b);
  let d = 1;
  let spare: number | null = null;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  const rng: Rng = {
    seed: base,
    next,
    range: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      const u = Math.max(next(), 1e-12);
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
    fork: (label) => createRng(deriveSeed(base, label)),
  };
  return rng;
}
