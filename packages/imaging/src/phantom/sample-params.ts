import type { Rng } from '../prng.ts';
import type {
  Bbox,
  BoneArc,
  PhantomKind,
  PhantomParams,
  PhantomPreset,
  ProbeKind,
  ScreenLayout,
} from './phantom-types.ts';
import { sampleFurniture, sampleLayout } from './sample-layout.ts';

/** What a caller may pin; everything else is drawn from the preset's ranges. */
export type PhantomOverrides = {
  preset?: PhantomPreset;
  kind?: PhantomKind;
  width?: number;
  height?: number;
  /** Scale the sampled canvas down so that its longer side is at most this (layout kept). */
  maxSide?: number;
  channels?: 1 | 3;
  layout?: ScreenLayout;
  probe?: ProbeKind;
  depthCm?: number;
  gainDb?: number;
  dynamicRangeDb?: number;
  marblingDensity?: number;
  fatThicknessMm?: number;
};

type Ranges = {
  depthCm: [number, number];
  noiseDb: [number, number];
  dynamicRangeDb: [number, number];
  gainDb: [number, number];
};

const RANGES: Record<PhantomPreset, Ranges> = {
  training: { depthCm: [10, 24], noiseDb: [-34, -22], dynamicRangeDb: [45, 75], gainDb: [-6, 6] },
  // Held-out: deeper fields, more electronic noise, wider gain/DR, screen layouts never used in training.
  heldout: { depthCm: [18, 28], noiseDb: [-26, -16], dynamicRangeDb: [38, 85], gainDb: [-9, 9] },
};

export function sampleParams(rng: Rng, o: PhantomOverrides): PhantomParams {
  const preset = o.preset ?? 'training';
  const r = RANGES[preset];
  const kind: PhantomKind = o.kind ?? 'ribeye';
  const layout = sampleLayout(rng.fork('layout'), preset, o);
  const probe: ProbeKind = o.probe ?? (rng.chance(0.62) ? 'linear' : 'convex');
  const depthCm = o.depthCm ?? round(rng.range(r.depthCm[0], r.depthCm[1]), 1);
  const depthMm = depthCm * 10;
  const aw = layout.scanArea[2] - layout.scanArea[0];
  const ah = layout.scanArea[3] - layout.scanArea[1];
  const fieldMm = probe === 'linear' ? (aw / ah) * depthMm : 0.9 * (aw / ah) * depthMm;
  const a = rng.fork('anatomy');
  const standoffMm = a.chance(0.35) ? a.range(0, 3) : a.range(3, 0.12 * depthMm);
  const skinThicknessMm = a.range(1.2, 3);
  const fatLayersMm = sampleFatLayers(a, o.fatThicknessMm);
  const fatSum = fatLayersMm.reduce((s, v) => s + v, 0);
  const top = standoffMm + skinThicknessMm + fatSum;
  const maxHeight = Math.max(15, 0.8 * depthMm - top);
  const ribeyeHeightMm = Math.min(maxHeight, a.range(38, 85) * (depthMm < 140 ? 0.8 : 1));
  const ribeyeWidthMm = Math.min(a.range(0.45, 0.95) * fieldMm, a.range(90, 190));
  const slack = Math.max(0, fieldMm / 2 - ribeyeWidthMm / 2);
  const ribeyeCenterXMm = a.range(-1.15, 1.15) * slack;
  return {
    preset,
    kind,
    width: layout.width,
    height: layout.height,
    channels:
      o.channels ?? (layout.layout === 'screen' ? (rng.chance(0.75) ? 3 : 1) : rng.chance(0.15) ? 3 : 1),
    layout: layout.layout,
    probe,
    scanArea: layout.scanArea,
    depthCm,
    frequencyMHz: round(a.range(2.5, 6), 1),
    gainDb: o.gainDb ?? round(rng.range(r.gainDb[0], r.gainDb[1]), 1),
    dynamicRangeDb: o.dynamicRangeDb ?? Math.round(rng.range(r.dynamicRangeDb[0], r.dynamicRangeDb[1])),
    attenuationDbPerCmMHz: round(a.range(0.4, 1), 2),
    tgcResidualDbPerCm: round(a.range(-1.6, 0.6), 2),
    convexRadiusMm: round(a.range(40, 80), 1),
    sectorHalfAngleDeg: round(a.range(22, 38), 1),
    standoffMm: round(standoffMm, 2),
    skinApexXMm: round(a.range(-0.35, 0.35) * fieldMm, 1),
    skinCurvature: a.chance(0.15) ? a.range(0, 0.0004) : a.range(0.0008, 0.004),
    skinTilt: round(a.range(-0.12, 0.12), 3),
    skinThicknessMm: round(skinThicknessMm, 2),
    fatLayersMm,
    fatThicknessMm: 0,
    ribeyeCenterXMm: round(ribeyeCenterXMm, 1),
    ribeyeWidthMm: round(ribeyeWidthMm, 1),
    ribeyeHeightMm: round(ribeyeHeightMm, 1),
    ribeyeAsymmetry: round(Math.exp(a.range(-0.8, 0.8)), 3),
    ribeyeEchoDb: round(a.range(-9, -3), 1),
    marblingDensity: o.marblingDensity ?? round(a.range(0.05, 1), 3),
    fasciaVisibility: round(a.range(0.25, 1), 2),
    bones: sampleBones(a, { ribeyeCenterXMm, ribeyeWidthMm, bottomMm: top + ribeyeHeightMm, fieldMm }),
    speckleAxialMm: round(a.range(0.12, 0.32), 3),
    speckleLateralMm: round(a.range(0.3, 0.9), 3),
    speckleLateralGrowth: round(a.range(0.02, 0.12), 3),
    reverberation: round(a.range(0, 1), 2),
    dropouts: sampleDropouts(a),
    smoothing: round(rng.range(0, 0.8), 2),
    deepHaze: round(rng.range(0, 1), 2),
    tint: sampleTint(rng),
    furniture: sampleFurniture(rng.fork('furniture'), layout.layout, { depthCm, probe }),
    noiseDb: round(rng.range(r.noiseDb[0], r.noiseDb[1]), 1),
  };
}

function sampleFatLayers(a: Rng, total?: number): number[] {
  const n = a.pick([1, 2, 2, 3]);
  const sum = total ?? a.range(3, 28);
  const w = Array.from({ length: n }, () => a.range(0.5, 1.5));
  const ws = w.reduce((s, v) => s + v, 0);
  return w.map((v) => round((v / ws) * sum, 2));
}

function sampleBones(
  a: Rng,
  r: { ribeyeCenterXMm: number; ribeyeWidthMm: number; bottomMm: number; fieldMm: number },
): BoneArc[] {
  const n = a.pick([0, 1, 1, 2, 2, 3]);
  return Array.from({ length: n }, (): BoneArc => {
    const xMm = r.ribeyeCenterXMm + a.range(-0.7, 0.9) * r.ribeyeWidthMm;
    return {
      xMm: round(xMm, 1),
      zMm: round(r.bottomMm + a.range(-4, 25), 1),
      halfWidthMm: round(a.range(8, 30), 1),
      heightMm: round(a.range(2, 12), 1),
      transmission: round(a.range(0.12, 0.5), 2),
    };
  });
}

function sampleDropouts(a: Rng): PhantomParams['dropouts'] {
  const n = a.chance(0.6) ? 0 : a.int(1, 2);
  return Array.from({ length: n }, () => ({
    xFrac: round(a.range(0, 1), 3),
    widthFrac: round(a.range(0.02, 0.15), 3),
    depthLoss: round(a.range(0.3, 0.95), 2),
  }));
}

function sampleTint(rng: Rng): [number, number, number] {
  if (rng.chance(0.5)) return [1, 1, 1];
  const b = rng.range(1, 1.12);
  return [round(rng.range(0.9, 1), 3), round(rng.range(0.94, 1.02), 3), round(b, 3)];
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export type { Bbox };
