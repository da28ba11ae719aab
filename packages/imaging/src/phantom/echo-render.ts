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
export function renderEcho(g: ScanGeometry, p: PhantomParams, maps: TissueMaps, rng: Rng): Uint8Array {
  const n = g.lines * g.samples;
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = maps.sigma[i]!;
    re[i] = s * rng.normal() + maps.coherent[i]!;
    im[i] = s * rng.normal();
  }
  const sampleMm = g.depthMm / g.samples;
  const focusMm = g.depthMm * 0.35;
  const lateral = (j: number) => {
    const z = (j + 0.5) * sampleMm;
    const w = p.speckleLateralMm * (1 + (p.speckleLateralGrowth * Math.abs(z - focusMm)) / 10);
    return w / g.lineSpacingAt(z);
  };
  blurRows(re, im, g.lines, g.samples, lateral);
  blurColumns(re, im, g.lines, g.samples, p.speckleAxialMm / sampleMm);
  return compress(g, p, maps, re, im, rng);
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
  const top = 24 - p.gainDb;
  const floor = top - p.dynamicRangeDb;
  const gamma = 1.15 + 0.35 * ((p.dynamicRangeDb - 38) / 47);
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
      const a = re[idx]! * t + noise * rng.normal();
      const b = im[idx]! * t + noise * rng.normal();
      const db = 10 * Math.log10(a * a + b * b + 1e-12);
      const v = (db - floor) / p.dynamicRangeDb;
      out[idx] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(255 * v ** gamma);
    }
  }
  if (p.smoothing > 0) smooth3(out, g.lines, g.samples, p.smoothing);
  return out;
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

/** Scanner speckle reduction ("SRI"): blend with a 3×3 box mean. */
function smooth3(img: Uint8Array, w: number, h: number, amount: number) {
  const src = img.slice();
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const o = (y + dy) * w + x;
        s += src[o - 1]! + src[o]! + src[o + 1]!;
      }
      const i = y * w + x;
      img[i] = Math.round(src[i]! * (1 - amount) + (s / 9) * amount);
    }
  }
}
