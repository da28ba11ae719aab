import type { GrayImage } from '../gray-image.ts';

type Roi = [number, number, number, number];

/**
 * Speckle size as the lag (pixels, fractional) where the normalised autocorrelation of the
 * high-passed intensity (minus a 13×13 local mean) falls to 0.5, laterally (x) and axially (y).
 * For fully developed speckle this is ≈ 1.18 × the PSF's Gaussian sigma.
 */
export function speckleWidths(g: GrayImage, roi: Roi): { lateral: number; axial: number } {
  const [x0, y0, x1, y1] = roi;
  const w = x1 - x0;
  const h = y1 - y0;
  const d = highPass(g, roi, 6);
  const corr = (lx: number, ly: number) => {
    let s = 0;
    for (let y = 0; y + ly < h; y++)
      for (let x = 0; x + lx < w; x++) s += d[y * w + x]! * d[(y + ly) * w + x + lx]!;
    return s / ((w - lx) * (h - ly));
  };
  const c0 = corr(0, 0) || 1;
  const halfWidth = (dx: number, dy: number) => {
    let prev = 1;
    for (let l = 1; l <= 24; l++) {
      const r = corr(dx * l, dy * l) / c0;
      if (r < 0.5) return l - 1 + (prev - 0.5) / (prev - r);
      prev = r;
    }
    return 24;
  };
  return { lateral: halfWidth(1, 0), axial: halfWidth(0, 1) };
}

function highPass(g: GrayImage, [x0, y0, x1, y1]: Roi, r: number): Float64Array {
  const w = x1 - x0;
  const h = y1 - y0;
  const d = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      for (let yy = Math.max(0, y - r); yy <= Math.min(h - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(w - 1, x + r); xx++) {
          s += g.data[(yy + y0) * g.width + xx + x0]!;
          n++;
        }
      }
      d[y * w + x] = g.data[(y + y0) * g.width + x + x0]! - s / n;
    }
  }
  return d;
}

/** 256-bin normalised histogram of the region (optionally only where `mask` is 1). */
export function grayHistogram(g: GrayImage, roi: Roi, mask?: Uint8Array): Float64Array {
  const [x0, y0, x1, y1] = roi;
  const hist = new Float64Array(256);
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = y * g.width + x;
      if (mask && !mask[o]) continue;
      hist[g.data[o]!]!++;
      n++;
    }
  }
  for (let i = 0; i < 256; i++) hist[i] = hist[i]! / Math.max(1, n);
  return hist;
}

/** Earth mover's distance between two normalised histograms, in gray levels. */
export function histogramDistance(a: Float64Array, b: Float64Array): number {
  let ca = 0;
  let cb = 0;
  let d = 0;
  for (let i = 0; i < 256; i++) {
    ca += a[i]!;
    cb += b[i]!;
    d += Math.abs(ca - cb);
  }
  return d;
}

/** Mean gray of the region. */
export function regionMean(g: GrayImage, [x0, y0, x1, y1]: Roi): number {
  let s = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += g.data[y * g.width + x]!;
  return s / ((x1 - x0) * (y1 - y0));
}
