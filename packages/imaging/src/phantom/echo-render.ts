import type { Rng } from '../prng.ts';
import type { PhantomParams } from './phantom-types.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import type { TissueMaps } from './tissue-maps.ts';

/**
 * Beam formation and display on the beam grid:
 * 1. field = sigma·(complex white noise) + coherent — random scatterers give fully developed
 *    (Rayleigh) speckle, specular interfaces add in phase;
 * 2. convolve with the point-spread function: short axially, wider laterally and widening with depth
 *    past the focus (L2-normalised, so speckle statistics do not depend on its size);
 * 3. × transmission (shadows, dropouts) × residual gain after attenuation and TGC, plus electronic
 *    noise that TGC amplifies with depth;
 * 4. envelope → dB → dynamic range window → gray map → optional speckle-reduction smoothing.
 */
/** Live streams: speckle = rho · (fixed pattern) + √(1-rho²) · (this frame's draw). */
export type SpeckleRefresh = { rng: Rng; rho: number };

export function renderEcho(
  g: ScanGeometry,
  p: PhantomParams,
  maps: TissueMaps,
  rng: Rng,
  refresh?: SpeckleRefresh,
): Uint8Array {
  const n = g.lines * g.samples;
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = (rng.next() * 4294967296) >>> 0;
    const r = maps.sigma[i]! * RAYLEIGH[u & 0xffff]!;
    const phase = u >>> 20;
    re[i] = r * COS[phase]!;
    im[i] = r * SIN[phase]!;
  }
  if (refresh) {
    const keep = refresh.rho;
    const add = Math.sqrt(1 - keep * keep);
    for (let i = 0; i < n; i++) {
      const u = (refresh.rng.next() * 4294967296) >>> 0;
      const r = maps.sigma[i]! * RAYLEIGH[u & 0xffff]! * add;
      re[i] = re[i]! * keep + r * COS[u >>> 20]!;
      im[i] = im[i]! * keep + r * SIN[u >>> 20]!;
    }
  }
  for (let i = 0; i < n; i++) re[i] = re[i]! + maps.coherent[i]!;
  const sampleMm = g.depthMm / g.samples;
  const focusMm = g.depthMm * 0.35;
  const lateral = (j: number) => {
    const z = (j + 0.5) * sampleMm;
    const w = p.speckleLateralMm * (1 + (p.speckleLateralGrowth * Math.abs(z - focusMm)) / 10);
    return w / g.lineSpacingAt(z);
  };
  blurRows(re, im, g.lines, g.samples, lateral);
  blurColumns(re, im, g.lines, g.samples, p.speckleAxialMm / sampleMm);
  return compress(g, p, maps, re, im, refresh?.rng ?? rng);
}

function compress(
  g: ScanGeometry,
  p: PhantomParams,
  maps: TissueMaps,
  re: Float32Array,
  im: Float32Array,
  rng: Rng,
) {
  const out = new Uint8Array(g.lines * g.samples);
  const noiseAmp = 10 ** (p.noiseDb / 20);
  // Display: dB relative to mean muscle echo → window of dynamicRangeDb with muscle at muscleLevel
  // (shifted by gain) → gray map v^gamma lifted to blackLevel. A gray map as a 1024-entry table.
  const v0 = p.muscleLevel + p.gainDb / p.dynamicRangeDb;
  const dbScale = 1 / p.dynamicRangeDb;
  const gmap = new Uint8Array(1025);
  for (let k = 0; k <= 1024; k++)
    gmap[k] = Math.round(p.blackLevel + (255 - p.blackLevel) * (k / 1024) ** p.grayGamma);
  const lut = new Float32Array(g.samples * 2);
  for (let j = 0; j < g.samples; j++) {
    const zCm = ((j + 0.5) * g.depthMm) / g.samples / 10;
    lut[2 * j] = 10 ** ((p.tgcResidualDbPerCm * zCm) / 20);
    // TGC gain that compensated the round-trip attenuation also lifts the noise floor with depth.
    lut[2 * j + 1] = noiseAmp * 10 ** ((0.35 * p.attenuationDbPerCmMHz * p.frequencyMHz * 2 * zCm) / 20 / 3);
  }
  for (let j = 0; j < g.samples; j++) {
    const gain = lut[2 * j]!;
    const noise = lut[2 * j + 1]!;
    for (let i = 0; i < g.lines; i++) {
      const idx = j * g.lines + i;
      const t = maps.transmission[idx]! * gain;
      const u = (rng.next() * 4294967296) >>> 0;
      const nr = noise * RAYLEIGH[u & 0xffff]!;
      const a = re[idx]! * t + nr * COS[u >>> 20]!;
      const b = im[idx]! * t + nr * SIN[u >>> 20]!;
      const v = 10 * Math.log10(a * a + b * b + 1e-12) * dbScale + v0;
      out[idx] = gmap[v <= 0 ? 0 : v >= 1 ? 1024 : (v * 1024) | 0]!;
    }
  }
  return out;
}

/** Average groups of k beam samples (display pixels integrate finer speckle), then smooth. */
export function toDisplayRows(
  beam: Uint8Array,
  lines: number,
  samples: number,
  k: number,
  smoothing: number,
  radius = 1,
): Uint8Array {
  const rows = Math.floor(samples / k);
  const out = k === 1 ? beam : new Uint8Array(lines * rows);
  if (k > 1) {
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < lines; i++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += beam[(j * k + t) * lines + i]!;
        out[j * lines + i] = Math.round(s / k);
      }
    }
  }
  if (smoothing > 0) smoothBox(out, lines, rows, smoothing, radius);
  return out;
}

// Circular complex Gaussian samples from one 32-bit draw: Rayleigh amplitude (16 bits of u, by the
// inverse CDF) × a random phase (12 bits) — Box–Muller with tables, ~5× faster than two normal() calls.
const RAYLEIGH = new Float32Array(65536);
for (let k = 0; k < RAYLEIGH.length; k++) RAYLEIGH[k] = Math.sqrt(-2 * Math.log((k + 0.5) / 65536));
const COS = new Float32Array(4096);
const SIN = new Float32Array(4096);
for (let k = 0; k < COS.length; k++) {
  COS[k] = Math.cos((2 * Math.PI * k) / 4096);
  SIN[k] = Math.sin((2 * Math.PI * k) / 4096);
}

/** Gaussian kernel normalised to unit energy (sum of squares = 1). */
function kernel(sigma: number): Float32Array {
  const s = Math.max(0.45, sigma);
  const r = Math.max(1, Math.ceil(2.5 * s));
  const k = new Float32Array(2 * r + 1);
  let e = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-0.5 * (i / s) ** 2);
    k[i + r] = v;
    e += v * v;
  }
  const norm = 1 / Math.sqrt(e);
  for (let i = 0; i < k.length; i++) k[i] = k[i]! * norm;
  return k;
}

function blurRows(
  re: Float32Array,
  im: Float32Array,
  w: number,
  h: number,
  sigmaOf: (row: number) => number,
) {
  const tr = new Float32Array(w);
  const ti = new Float32Array(w);
  let k = kernel(sigmaOf(0));
  for (let j = 0; j < h; j++) {
    if (j % 8 === 0) k = kernel(sigmaOf(j));
    const r = (k.length - 1) >> 1;
    const off = j * w;
    for (let i = 0; i < w; i++) {
      let a = 0;
      let b = 0;
      for (let t = -r; t <= r; t++) {
        const x = i + t;
        const q = off + (x < 0 ? -x : x >= w ? 2 * w - 2 - x : x);
        const kv = k[t + r]!;
        a += re[q]! * kv;
        b += im[q]! * kv;
      }
      tr[i] = a;
      ti[i] = b;
    }
    re.set(tr, off);
    im.set(ti, off);
  }
}

function blurColumns(re: Float32Array, im: Float32Array, w: number, h: number, sigma: number) {
  const k = kernel(sigma);
  const r = (k.length - 1) >> 1;
  const tr = new Float32Array(w * h);
  const ti = new Float32Array(w * h);
  for (let t = -r; t <= r; t++) {
    const kv = k[t + r]!;
    for (let j = 0; j < h; j++) {
      let y = j + t;
      y = y < 0 ? -y : y >= h ? 2 * h - 2 - y : y;
      const src = y * w;
      const dst = j * w;
      for (let i = 0; i < w; i++) {
        tr[dst + i] = tr[dst + i]! + re[src + i]! * kv;
        ti[dst + i] = ti[dst + i]! + im[src + i]! * kv;
      }
    }
  }
  re.set(tr);
  im.set(ti);
}

/**
 * Scanner speckle reduction ("SRI"): blend with a (2r+1)² box mean. r = 2 is the strong setting of
 * modern scanners: speckle contrast drops and mm-scale structure (septa, fascicles) stands out.
 */
function smoothBox(img: Uint8Array, w: number, h: number, amount: number, r: number) {
  const src = img.slice();
  const rowSum = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += src[o + Math.min(w - 1, Math.max(0, x + t))]!;
      rowSum[o + x] = s;
    }
  }
  const norm = amount / (2 * r + 1) ** 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) s += rowSum[Math.min(h - 1, Math.max(0, y + t)) * w + x]!;
      const i = y * w + x;
      img[i] = Math.round(src[i]! * (1 - amount) + s * norm);
    }
  }
}
