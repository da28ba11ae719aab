import type { Rng } from '../prng.ts';
import type { PhantomParams } from './phantom-types.ts';
import type { RibeyeAnatomy } from './ribeye-anatomy.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { lineProfile, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

/**
 * Distance (mm) from every beam-grid sample to the nearest ribeye sample (0 inside), by a two-pass
 * chamfer transform with the grid's physical steps (lateral step per row, so convex fans work too).
 */
export function distanceToRibeye(g: ScanGeometry, mask: Uint8Array): Float32Array {
  const { lines: w, samples: h } = g;
  const d = new Float32Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = mask[i] ? 0 : 1e6;
  const sz = g.depthMm / h;
  // Forward pass (left and up neighbours), then backward (right and down); inlined: it runs on
  // every sample of the beam grid.
  for (let j = 0; j < h; j++) {
    const lx = g.lineSpacingAt(g.zMm[j * w + (w >> 1)]!);
    const diag = Math.hypot(lx, sz);
    const o = j * w;
    for (let i = 0; i < w; i++) {
      let v = d[o + i]!;
      if (v === 0) continue;
      if (i > 0) v = Math.min(v, d[o + i - 1]! + lx);
      if (j > 0) {
        const u = o - w + i;
        v = Math.min(v, d[u]! + sz);
        if (i > 0) v = Math.min(v, d[u - 1]! + diag);
        if (i < w - 1) v = Math.min(v, d[u + 1]! + diag);
      }
      d[o + i] = v;
    }
  }
  for (let j = h - 1; j >= 0; j--) {
    const lx = g.lineSpacingAt(g.zMm[j * w + (w >> 1)]!);
    const diag = Math.hypot(lx, sz);
    const o = j * w;
    for (let i = w - 1; i >= 0; i--) {
      let v = d[o + i]!;
      if (v === 0) continue;
      if (i < w - 1) v = Math.min(v, d[o + i + 1]! + lx);
      if (j < h - 1) {
        const u = o + w + i;
        v = Math.min(v, d[u]! + sz);
        if (i > 0) v = Math.min(v, d[u - 1]! + diag);
        if (i < w - 1) v = Math.min(v, d[u + 1]! + diag);
      }
      d[o + i] = v;
    }
  }
  return d;
}

/**
 * What sets a real ribeye apart from the muscles beside and below it: a wrapping of intermuscular
 * fat and connective tissue (a brighter, streaky, partly broken band a few mm thick) and the
 * epimysium as a thin bright outline. Above the lens the subcutaneous fat lines already do this.
 */
export function addRibeyeHalo(
  g: ScanGeometry,
  p: PhantomParams,
  a: RibeyeAnatomy,
  maps: TissueMaps,
  rng: Rng,
): void {
  const strength = p.seamStrength ?? 0;
  const outline = p.outlineVisibility ?? 0;
  if (strength <= 0 && outline <= 0) return;
  const width = p.haloWidthMm ?? 5;
  const gain = p.interfaceGain ?? 1;
  const lineW = Math.max(p.interfaceWidthMm ?? 0.3, 0.5 * g.spacingMm);
  const shift = p.tissueShiftMm ?? 0;
  const broken = createValueNoise(rng.int(0, 2 ** 30), rng.range(5, 14), g.bounds);
  const streakNoise = createValueNoise(rng.int(0, 2 ** 30), rng.range(0.8, 1.6), {
    ...g.bounds,
    x0: g.bounds.x0 / 6,
    x1: g.bounds.x1 / 6,
  });
  const dist = distanceToRibeye(g, maps.mask);
  const reach = 3 * width;
  for (let idx = 0; idx < dist.length; idx++) {
    const d = dist[idx]!;
    if (d === 0 || d > reach) continue;
    const x = g.xMm[idx]!;
    const z = g.zMm[idx]!;
    if (z < a.ribeyeTop(x) + 0.5) continue;
    const tx = x - shift;
    const gate = Math.max(0, Math.min(1.4, 0.6 + 1.2 * broken(tx, z)));
    // The epimysium shows in pieces (real scans never draw the whole lens outline).
    const piece = Math.max(0, Math.min(1, 1.8 * broken(tx + 40, z) - 0.1));
    const streak = 0.4 + 1.4 * Math.max(0, 0.3 + streakNoise(tx / 6, z));
    maps.sigma[idx] = maps.sigma[idx]! + strength * gate * streak * Math.exp(-d / width);
    if (d < 3 * lineW)
      maps.coherent[idx] = maps.coherent[idx]! + 5 * gain * outline * piece * lineProfile(d, lineW);
  }
}
