import type { Rng } from '../prng.ts';
import { sampleAnnotations } from './annotations.ts';
import { kindParams } from './kind-params.ts';
import type {
  Bbox,
  BoneArc,
  PhantomKind,
  PhantomParams,
  PhantomPreset,
  ProbeKind,
  ScreenLayout,
} from './phantom-types.ts';
import { skinDepthMm } from './ribeye-anatomy.ts';
import { sampleRealism } from './ribeye-realism.ts';
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
  /** Training preset only: draw ribeye-realism features and hard positives (opt-in). */
  realism?: boolean;
};

type Ranges = {
  depthCm: [number, number];
  noiseDb: [number, number];
  dynamicRangeDb: [number, number];
  gainDb: [number, number];
};

const RANGES: Record<PhantomPreset, Ranges> = {
  // Training spans every setting a scanner in the field is used with (10–28 cm deep, noisy and
  // clean, narrow and wide dynamic range, ±9 dB gain): a narrower range (≤ 24 cm, ±6 dB) left the
  // models refusing small ribeyes in deep fields (hint 3.0.0: 82 % accepted at ≥ 26 cm).
  training: { depthCm: [10, 28], noiseDb: [-32, -10], dynamicRangeDb: [38, 85], gainDb: [-9, 9] },
  // Held-out: the deeper, noisier half of those settings, on screen layouts never used in training.
  heldout: { depthCm: [18, 28], noiseDb: [-24, -10], dynamicRangeDb: [38, 85], gainDb: [-9, 9] },
};

export function sampleParams(rng: Rng, o: PhantomOverrides): PhantomParams {
  const preset = o.preset ?? 'training';
  const r = RANGES[preset];
  const kind: PhantomKind = o.kind ?? 'ribeye';
  const layout = sampleLayout(rng.fork('layout'), preset, o);
  const probe: ProbeKind = o.probe ?? (rng.chance(0.62) ? 'linear' : 'convex');
  const field = fitField(rng.fork('field'), r, o, layout, probe);
  const { depthCm, fieldMm } = field;
  layout.scanArea = field.scanArea;
  const depthMm = depthCm * 10;
  const a = rng.fork('anatomy');
  const standoffMm = a.chance(0.35) ? a.range(0, 3) : a.range(3, 0.12 * depthMm);
  const skinThicknessMm = a.range(1.2, 3);
  const fatLayersMm = sampleFatLayers(a, o.fatThicknessMm);
  const fatSum = fatLayersMm.reduce((s, v) => s + v, 0);
  const top = standoffMm + skinThicknessMm + fatSum;
  // Real ribeyes are 80–170 mm wide and 2–3.4× wider than deep; a narrow field shows only part.
  const ribeyeWidthMm = a.range(80, 170);
  const ribeyeHeightMm = Math.max(15, Math.min(0.8 * depthMm - top, ribeyeWidthMm / a.range(2, 3.4)));
  const slack = Math.abs(fieldMm / 2 - ribeyeWidthMm / 2) + 0.1 * fieldMm;
  const ribeyeCenterXMm = a.range(-1, 1) * slack;
  const skinApexXMm = round(a.range(-0.25, 0.25) * fieldMm, 1);
  const skinCurvature = a.chance(0.15) ? a.range(0, 0.0004) : a.range(0.0004, 0.0025);
  const skinTilt = round(a.range(-0.12, 0.12), 3);
  const asymmetry = round(Math.exp(a.range(-0.8, 0.8)), 3);
  const convexRadiusMm = round(a.range(40, 80), 1);
  const base: PhantomParams = {
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
    tgcResidualDbPerCm: round(a.range(-1.2, 0.6), 2),
    convexRadiusMm,
    sectorHalfAngleDeg: round(a.range(22, 38), 1),
    standoffMm: round(standoffMm, 2),
    skinApexXMm,
    skinCurvature,
    skinTilt,
    skinThicknessMm: round(skinThicknessMm, 2),
    fatLayersMm,
    fatThicknessMm: 0,
    ribeyeCenterXMm: round(ribeyeCenterXMm, 1),
    ribeyeWidthMm: round(ribeyeWidthMm, 1),
    ribeyeHeightMm: round(ribeyeHeightMm, 1),
    ribeyeAsymmetry: asymmetry,
    // Mostly darker than the muscles around it (ustool); sometimes brighter (hzau), never equal.
    ribeyeEchoDb: round(a.chance(0.75) ? a.range(-10, -3) : a.range(1.5, 4), 1),
    marblingDensity: o.marblingDensity ?? round(a.range(0.05, 1), 3),
    fasciaVisibility: round(a.chance(0.3) ? a.range(0, 0.3) : a.range(0.3, 0.8), 2),
    bones: sampleBones(a, {
      ribeyeCenterXMm,
      ribeyeWidthMm,
      ribeyeHeightMm,
      asymmetry,
      topMm: (x) =>
        skinDepthMm({ probe, convexRadiusMm, standoffMm, skinApexXMm, skinCurvature, skinTilt }, x) +
        skinThicknessMm +
        fatSum,
    }),
    // Calibrated on the reference scans: intensity autocorrelation half-widths ≈ 0.45 mm axial and
    // ≈ 1.7 mm lateral, i.e. Gaussian PSF sigmas ≈ 0.38 mm and ≈ 1.45 mm (half-width = 1.18 σ).
    speckleAxialMm: round(a.range(0.12, 0.33), 3),
    speckleLateralMm: round(a.range(0.6, 1.4), 3),
    speckleLateralGrowth: round(a.range(0.02, 0.1), 3),
    reverberation: round(a.range(0, 1), 2),
    dropouts: sampleDropouts(a),
    smoothing: round(rng.range(0, 0.8), 2),
    smoothingRadius: rng.fork('sri').chance(0.35) ? 2 : 1,
    deepHaze: round(rng.range(0, 1), 2),
    tint: sampleTint(rng),
    furniture: sampleFurniture(rng.fork('furniture'), layout.layout, { depthCm, probe }, layout.extras),
    annotations: sampleAnnotations(rng.fork('annotations'), layout.layout),
    noiseDb: round(rng.range(r.noiseDb[0], r.noiseDb[1]), 1),
    beamLines: a.int(128, 320),
    ...sampleGrayMap(rng),
    // Real scans show skin, fat lines and bone near saturation while muscle stays mid-dark.
    interfaceGain: round(10 ** (a.range(0, 8) / 20), 3),
    seamStrength: round(a.chance(0.15) ? 0 : a.range(0.5, 3), 2),
    haloWidthMm: round(a.range(2, 9), 1),
    outlineVisibility: round(a.range(0.2, 1), 2),
    interfaceWidthMm: round(a.range(0.3, 0.8), 2),
  };
  // Opt-in, training only, from their own forks: every other draw stays put, so without it (and for
  // the held-out preset always) a phantom renders exactly as before.
  const realistic =
    preset === 'training' && o.realism
      ? { ...base, ...nearEdge(rng.fork('edge'), base, fieldMm), ...sampleRealism(rng.fork('realism'), base) }
      : base;
  return { ...realistic, ...kindParams(kind, realistic, rng.fork(`kind-${kind}`), fieldMm) };
}

/**
 * Hard positives (training only): one ribeye in six slid against a field edge yet whole (its end
 * 0–4 % of the field inside the edge), bones moved with it; the view verdict must accept it.
 */
function nearEdge(rng: Rng, p: PhantomParams, fieldMm: number): Partial<PhantomParams> {
  if (p.kind !== 'ribeye' || !rng.chance(1 / 6) || p.ribeyeWidthMm > 0.92 * fieldMm) return {};
  const side = rng.chance(0.5) ? -1 : 1;
  const centre = round(side * (fieldMm / 2 - p.ribeyeWidthMm / 2 - rng.range(0, 0.04) * fieldMm), 1);
  const dx = centre - p.ribeyeCenterXMm;
  return { ribeyeCenterXMm: centre, bones: p.bones.map((b) => ({ ...b, xMm: round(b.xMm + dx, 1) })) };
}

/**
 * A linear probe is 100–190 mm wide whatever the depth: on a screen a deep field is a narrow image
 * centred in the scan area; a crop shows the field's width, so its depth follows from its aspect.
 */
function fitField(
  rng: Rng,
  r: Ranges,
  o: PhantomOverrides,
  layout: { layout: ScreenLayout; scanArea: Bbox },
  probe: ProbeKind,
): { depthCm: number; fieldMm: number; scanArea: Bbox } {
  const [x0, y0, x1, y1] = layout.scanArea;
  const aw = x1 - x0;
  const ah = y1 - y0;
  // Crops usually show the whole footprint of a long ribeye probe (the ribeye in the upper half).
  const probeMm = layout.layout === 'crop' ? rng.range(130, 240) : rng.range(110, 200);
  if (probe === 'convex' || (layout.layout === 'crop' && o.depthCm === undefined)) {
    const depthCm =
      o.depthCm ??
      (probe === 'linear'
        ? round(Math.min(28, Math.max(6, (probeMm * ah) / aw / 10)), 1)
        : round(rng.range(r.depthCm[0], r.depthCm[1]), 1));
    return {
      depthCm,
      fieldMm: (probe === 'linear' ? 1 : 0.9) * (aw / ah) * depthCm * 10,
      scanArea: layout.scanArea,
    };
  }
  const depthCm = o.depthCm ?? round(rng.range(r.depthCm[0], r.depthCm[1]), 1);
  const width = Math.max(16, Math.min(aw, Math.round((ah * probeMm) / (depthCm * 10))));
  const left = x0 + Math.floor((aw - width) / 2);
  return { depthCm, fieldMm: (width / ah) * depthCm * 10, scanArea: [left, y0, left + width, y1] };
}

function sampleFatLayers(a: Rng, total?: number): number[] {
  const n = a.pick([1, 2, 2, 3]);
  const sum = total ?? a.range(3, 28);
  const w = Array.from({ length: n }, () => a.range(0.5, 1.5));
  const ws = w.reduce((s, v) => s + v, 0);
  return w.map((v) => round((v / ws) * sum, 2));
}

type BoneContext = {
  ribeyeCenterXMm: number;
  ribeyeWidthMm: number;
  ribeyeHeightMm: number;
  asymmetry: number;
  topMm: (x: number) => number;
};

/**
 * Ribs and transverse processes sit right under the ribeye's floor: 1–3 bright arcs whose tops touch
 * or nearly touch the lens bottom (same lens formula as ribeye-anatomy, without the wobble).
 */
function sampleBones(a: Rng, r: BoneContext): BoneArc[] {
  const n = a.pick([0, 1, 1, 2, 2, 2, 3]);
  const half = r.ribeyeWidthMm / 2;
  const topC = r.topMm(r.ribeyeCenterXMm);
  return Array.from({ length: n }, (_, i): BoneArc => {
    // A rib cut obliquely is a long, flat bright band with a wide shadow (the ustool crop's right
    // side); drawn from a fork so the other anatomy draws stay put.
    const shape = a.fork(`bone-${i}`);
    const flat = shape.chance(0.3);
    const s = a.range(-0.75, 1.1) * (a.chance(0.5) ? 1 : -1);
    const xMm = r.ribeyeCenterXMm + s * half;
    const e = s < 0 ? 1.8 * r.asymmetry : 1.8 / r.asymmetry;
    const lens = Math.abs(s) < 1 ? (1 - Math.abs(s) ** e) ** 0.55 : 0;
    // Past the lens' thin ends the bones lie deeper (ribs under the lateral muscles), not at the fat.
    const floor = 0.55 * topC + 0.45 * r.topMm(xMm) + r.ribeyeHeightMm * Math.max(lens, 0.55);
    const heightMm = flat ? shape.range(2, 6) : a.range(4, 16);
    // The bone's top touches the lens floor (the ribeye lies on it); ribeye-anatomy lifts the floor
    // over the dome where they overlap.
    return {
      xMm: round(xMm, 1),
      zMm: round(floor + heightMm + a.range(-3, 2.5), 1),
      halfWidthMm: round(flat ? shape.range(30, 60) : a.range(10, 30), 1),
      heightMm: round(heightMm, 1),
      transmission: round(a.range(0.08, 0.5), 2),
    };
  });
}

/**
 * The gray map and where muscle sits in it. Operators set the gain so that muscle shows mid-dark
 * (gray 18–115 before the gain offset): the level is drawn as that gray and inverted
 * through the map, so gamma and black level do not stack into unreadably dark or washed-out frames.
 */
function sampleGrayMap(rng: Rng): Pick<PhantomParams, 'muscleLevel' | 'grayGamma' | 'blackLevel'> {
  const grayGamma = round(rng.range(1, 1.6), 2);
  // Most scanners map the window's bottom to black (a deep haze is the TGC-lifted noise floor, as
  // on the hzau screen); some lift the whole gray map.
  const blackLevel = rng.chance(0.7) ? 0 : Math.round(rng.range(5, 50));
  const muscleGray = rng.range(Math.max(18, blackLevel + 15), 115);
  const muscleLevel = round(((muscleGray - blackLevel) / (255 - blackLevel)) ** (1 / grayGamma), 3);
  return { muscleLevel, grayGamma, blackLevel };
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
  // Some scanners export a warm (sepia / bronze) map; drawn from a fork so other draws stay put.
  const warm = rng.fork('warm');
  if (warm.chance(0.15)) return [1, round(warm.range(0.85, 0.95), 3), round(warm.range(0.6, 0.8), 3)];
  if (rng.chance(0.5)) return [1, 1, 1];
  const b = rng.range(1, 1.12);
  return [round(rng.range(0.9, 1), 3), round(rng.range(0.94, 1.02), 3), round(b, 3)];
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export type { Bbox };
