import type { PhantomParams } from './phantom-types.ts';
import { createCurveNoise, type NoiseBounds, tabulate } from './value-noise.ts';

/**
 * The transverse anatomy at the 12th–13th rib as curves in the physical frame (X lateral mm,
 * Z depth mm): skin arch, fat-layer boundaries, the ribeye lens and the bone arcs under it.
 */
export type RibeyeAnatomy = {
  skinZ(x: number): number;
  /** Boundaries below the skin: index 0 = skin inner surface, last = ribeye top (epimysium). */
  layerZ(k: number, x: number): number;
  layerCount: number;
  ribeyeTop(x: number): number;
  /** Ribeye bottom, or NO_RIBEYE where the lens does not reach. */
  ribeyeBottom(x: number): number;
  inRibeye(x: number, z: number): boolean;
  /** Top surface of bone b at x, or Infinity outside its half width. */
  boneTop(b: number, x: number): number;
  medialSide: 'left' | 'right';
  /** Fat thickness (skin inner surface → ribeye top) at 3/4 of the ribeye from the medial end. */
  fatThicknessMm: number;
};

type SkinShape = Pick<
  PhantomParams,
  'probe' | 'convexRadiusMm' | 'standoffMm' | 'skinApexXMm' | 'skinCurvature' | 'skinTilt'
>;

/**
 * Skin surface depth at lateral x. The back arches away from a linear probe (parabola + tilt); a
 * convex probe is pressed in, so the skin follows its curved face (plus a little residual arch).
 */
export function skinDepthMm(p: SkinShape, x: number): number {
  const dx = x - p.skinApexXMm;
  const arch = p.skinCurvature * dx * dx + p.skinTilt * dx;
  if (p.probe === 'linear') return Math.max(0.4, p.standoffMm + arch);
  const r = p.convexRadiusMm;
  const face = Math.sqrt(Math.max(0, r * r - x * x)) - r;
  return face + Math.max(0.4, p.standoffMm + 0.3 * arch);
}

/** Where the lens does not reach: far above any sample, and safe to interpolate (unlike -Infinity). */
export const NO_RIBEYE = -1e6;

export function createRibeyeAnatomy(
  p: PhantomParams,
  seed: number,
  b: NoiseBounds,
  stepMm: number,
): RibeyeAnatomy {
  // Textures belong to the tissue: a probe sway (tissueShiftMm) moves them with the anatomy.
  const shift = p.tissueShiftMm ?? 0;
  const curve = (s: number, cellMm: number) => {
    const noise = createCurveNoise(s, cellMm, b);
    return (x: number) => noise(x - shift);
  };
  const wobble = p.fatLayersMm.map((_, k) => curve(seed + 11 * k + 1, 25));
  const bottomWobble = curve(seed + 101, 18);
  const tab = (fn: (x: number) => number) => tabulate(fn, b.x0, b.x1, stepMm);
  const cum: number[] = [];
  let acc = p.skinThicknessMm;
  cum.push(acc);
  for (const f of p.fatLayersMm) {
    acc += f;
    cum.push(acc);
  }
  const skinZRaw = (x: number) => skinDepthMm(p, x);
  const skinZ = tab(skinZRaw);
  const last = cum.length - 1;
  // Fat layers are parallel to the skin with a gentle wobble (never crossing: wobble ≤ 30 % of layer).
  const layers = cum.map((c, k) =>
    tab(
      (x) =>
        skinZRaw(x) +
        c +
        (k === 0 ? 0 : wobble[k - 1]!(x) * Math.min(1.2, 0.3 * (p.fatLayersMm[k - 1] ?? 0))),
    ),
  );
  const layerZ = (k: number, x: number) => layers[k]!(x);
  const ribeyeTop = layers[last]!;
  const half = p.ribeyeWidthMm / 2;
  const cx = p.ribeyeCenterXMm;
  const eLeft = 1.8 * p.ribeyeAsymmetry;
  const eRight = 1.8 / p.ribeyeAsymmetry;
  const topC = ribeyeTop(cx);
  const boneTop = (b: number, x: number) => {
    const bone = p.bones[b];
    if (!bone) return Number.POSITIVE_INFINITY;
    const s = (x - bone.xMm) / bone.halfWidthMm;
    if (s <= -1 || s >= 1) return Number.POSITIVE_INFINITY;
    return bone.zMm - bone.heightMm * (1 - s * s);
  };
  // The ribeye lies on the ribs / transverse processes: where a dome rises into the lens the floor
  // follows the bone 1 mm above it (a thin fascia between).
  const ribeyeBottom = tab((x: number) => {
    const s = (x - cx) / half;
    if (s <= -1 || s >= 1) return NO_RIBEYE;
    const e = s < 0 ? eLeft : eRight;
    const shape = (1 - Math.abs(s) ** e) ** 0.55;
    const base = 0.55 * topC + 0.45 * ribeyeTop(x);
    let bottom = base + p.ribeyeHeightMm * shape + 2 * bottomWobble(x) * shape;
    for (let k = 0; k < p.bones.length; k++) bottom = Math.min(bottom, boneTop(k, x) - 1);
    return bottom;
  });
  const inRibeye = (x: number, z: number) => z >= ribeyeTop(x) && z <= ribeyeBottom(x);
  const medialSide = p.ribeyeAsymmetry >= 1 ? 'left' : 'right';
  const x34 = medialSide === 'left' ? cx + 0.25 * p.ribeyeWidthMm : cx - 0.25 * p.ribeyeWidthMm;
  return {
    skinZ,
    layerZ,
    layerCount: cum.length,
    ribeyeTop,
    ribeyeBottom,
    inRibeye,
    boneTop,
    medialSide,
    fatThicknessMm: ribeyeTop(x34) - layerZ(0, x34),
  };
}
