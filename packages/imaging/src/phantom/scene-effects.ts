import type { PhantomParams } from './phantom-types.ts';
import type { ScanGeometry } from './scan-geometry.ts';
import { lineProfile, type TissueMaps } from './tissue-maps.ts';
import { createValueNoise } from './value-noise.ts';

type BoneTop = (bone: number, xMm: number) => number;

/** Bone surfaces reflect strongly (specular arc) with a thin band of bright scatter just beneath. */
export function addBoneSurfaces(g: ScanGeometry, p: PhantomParams, maps: TissueMaps, boneTop: BoneTop): void {
  const lineW = Math.max(0.5, 0.6 * g.spacingMm);
  const gain = p.interfaceGain ?? 1;
  const n = g.lines * g.samples;
  for (let b = 0; b < p.bones.length; b++) {
    const bone = p.bones[b]!;
    // Grain along the surface, in the bone's own frame (it sways with the bone in streams). A long
    // flat arc is a rib cut obliquely: dimmer and more broken than a dome facing the beam.
    const grain = createValueNoise(1009 * (b + 1) + Math.round(bone.halfWidthMm * 10), 4, {
      x0: -bone.halfWidthMm - 5,
      x1: bone.halfWidthMm + 5,
      z0: 0,
      z1: 10,
    });
    const level = 15 * gain * (bone.halfWidthMm > 30 ? 0.3 : 1);
    for (let idx = 0; idx < n; idx++) {
      const x = g.xMm[idx]!;
      const top = boneTop(b, x);
      if (top === Number.POSITIVE_INFINITY) continue;
      const d = g.zMm[idx]! - top;
      if (d < -4 || d > 6) continue;
      const slope = (boneTop(b, x + 0.5) - boneTop(b, x - 0.5)) / 1;
      const inc = (1 / (1 + (1.5 * slope) ** 2)) * (0.65 + 0.45 * grain(x - bone.xMm, 5));
      // Periosteum + cortex: a thick near-saturated cap, the brightest echo in a real ribeye scan.
      maps.coherent[idx] = maps.coherent[idx]! + level * inc * lineProfile(d, lineW * 2.2);
      if (d > -1 && d < 6) maps.sigma[idx] = maps.sigma[idx]! + 4 * gain * inc * (1 - Math.abs(d) / 6);
    }
  }
}

/**
 * Acoustic shadows: once a beam line has passed a bone surface, what lies beneath only gets the
 * bone's transmission; edges of the arc (thin bone, oblique) let more through, and the shadow sets
 * in over a few mm. The lateral softening comes from the beam width (see softenTransmission).
 */
export function applyBoneShadows(
  g: ScanGeometry,
  p: PhantomParams,
  maps: TissueMaps,
  boneTop: BoneTop,
): void {
  if (p.bones.length === 0) return;
  const sampleMm = g.depthMm / g.samples;
  for (let i = 0; i < g.lines; i++) {
    const entered = new Float32Array(p.bones.length).fill(Number.NaN);
    for (let j = 0; j < g.samples; j++) {
      const idx = j * g.lines + i;
      const x = g.xMm[idx]!;
      const z = g.zMm[idx]!;
      let t = 1;
      for (let b = 0; b < p.bones.length; b++) {
        const bone = p.bones[b]!;
        if (Number.isNaN(entered[b]!)) {
          const top = boneTop(b, x);
          if (z > top + 1.5) entered[b] = z;
        }
        const e = entered[b]!;
        if (Number.isNaN(e)) continue;
        const s = Math.min(1, Math.abs(x - bone.xMm) / bone.halfWidthMm);
        const floor = bone.transmission + (1 - bone.transmission) * s ** 4;
        const ramp = Math.min(1, (z - e) / Math.max(3, 4 * sampleMm));
        t *= 1 - (1 - floor) * ramp;
      }
      maps.transmission[idx] = maps.transmission[idx]! * t;
    }
  }
  softenTransmission(g, maps, 2.5);
}

/** Lateral blur of the transmission map: a beam is mm wide, so shadow edges are never sharp. */
function softenTransmission(g: ScanGeometry, maps: TissueMaps, widthMm: number): void {
  const row = new Float32Array(g.lines);
  for (let j = 0; j < g.samples; j++) {
    const z = g.zMm[j * g.lines + (g.lines >> 1)]!;
    const r = Math.max(1, Math.round(widthMm / g.lineSpacingAt(z)));
    const off = j * g.lines;
    let acc = 0;
    for (let i = -r; i <= r; i++) acc += maps.transmission[off + clamp(i, g.lines)]!;
    for (let i = 0; i < g.lines; i++) {
      row[i] = acc / (2 * r + 1);
      acc +=
        maps.transmission[off + clamp(i + r + 1, g.lines)]! - maps.transmission[off + clamp(i - r, g.lines)]!;
    }
    maps.transmission.set(row, off);
  }
}

function clamp(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** Poor coupling: whole beam lines lose energy (dark columns from the face down). */
export function applyDropouts(g: ScanGeometry, p: PhantomParams, maps: TissueMaps): void {
  for (const d of p.dropouts) {
    const c = d.xFrac * g.lines;
    const hw = Math.max(1, (d.widthFrac * g.lines) / 2);
    for (let i = Math.max(0, Math.floor(c - 2 * hw)); i < Math.min(g.lines, Math.ceil(c + 2 * hw)); i++) {
      const w = Math.exp(-0.5 * ((i - c) / hw) ** 2);
      for (let j = 0; j < g.samples; j++) {
        const idx = j * g.lines + i;
        const deeper = 0.6 + 0.4 * Math.min(1, j / (0.3 * g.samples));
        maps.transmission[idx] = maps.transmission[idx]! * (1 - d.depthLoss * w * deeper);
      }
    }
  }
}

/**
 * Reverberation: echoes bouncing between probe face and skin repeat the skin line at 2× and 3× its
 * depth, and the face / stand-off pad rings near the top over a gray haze.
 */
export function addReverberation(
  g: ScanGeometry,
  p: PhantomParams,
  maps: TissueMaps,
  skinZ: (x: number) => number,
): void {
  const r = p.reverberation;
  const haze = 0.06 + 0.2 * r;
  const lineW = Math.max(0.35, 0.55 * g.spacingMm);
  const ring = Math.max(0.8, 1.2 * g.spacingMm);
  const sampleMm = g.depthMm / g.samples;
  const n = g.lines * g.samples;
  for (let idx = 0; idx < n; idx++) {
    const x = g.xMm[idx]!;
    const z = g.zMm[idx]!;
    const s = skinZ(x);
    let add = 0;
    if (s > 2) {
      add += 1.6 * r * lineProfile(z - 2 * s, lineW * 1.5);
      add += 0.7 * r * lineProfile(z - 3 * s, lineW * 2);
    }
    if (z < s) {
      // Stand-off / gel is never black on real scans (gray 20–60 on both references): the face
      // rings down — a bright lens line, then fading bands, arcs parallel to a convex face — over
      // a haze of multiple reflections.
      const alongBeam = (Math.floor(idx / g.lines) + 0.5) * sampleMm;
      add += 1.5 * r * lineProfile(alongBeam - 0.5 * ring, lineW);
      for (let k = 1; k <= 4; k++) add += (1.6 * r * lineProfile(alongBeam - (k + 0.5) * ring, lineW)) / k;
      maps.sigma[idx] = maps.sigma[idx]! + haze * (0.35 + 0.65 * Math.exp(-alongBeam / 8));
    }
    if (add > 0) maps.coherent[idx] = maps.coherent[idx]! + add;
  }
}
