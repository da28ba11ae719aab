import type { Rng } from '../prng.ts';
import type { BoneArc, PhantomKind, PhantomParams } from './phantom-types.ts';

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * What makes each negative kind (and the cut-off ribeye) differ from a transverse ribeye view, drawn
 * from the kind's own fork after the common parameters: a ribeye's draws never move when kinds are
 * added, and every value that shapes the scene is recorded in the labels' params.
 */
export function kindParams(
  kind: PhantomKind,
  p: PhantomParams,
  rng: Rng,
  fieldMm: number,
): Partial<PhantomParams> {
  switch (kind) {
    case 'ribeye_cut_off':
      return cutOff(p, rng, fieldMm);
    case 'backfat_longitudinal':
      return longitudinal(p, rng, fieldMm);
    case 'transverse_wrong_site':
      return {
        bones: rng.chance(0.4) ? [deepFlatBone(p, rng, fieldMm)] : [],
        muscleSeams: seams(rng, rng.int(2, 4), 0.06),
      };
    case 'rump_p8':
      return {
        // P8: the rump between hip and pin bones; fat usually thicker, the skin flat, muscle seams
        // run obliquely, sometimes the ilium deep down.
        fatLayersMm: p.fatLayersMm.map((v) => round(v * rng.range(1, 1.8), 2)),
        skinCurvature: round(rng.range(0, 0.0006), 5),
        bones: rng.chance(0.3) ? [deepFlatBone(p, rng, fieldMm)] : [],
        muscleSeams: seams(rng, rng.int(1, 3), 0.35),
      };
    case 'probe_lifted': {
      const span = rng.range(0.35, 1);
      const from = rng.chance(0.5) ? 0 : 1 - span;
      return {
        lifted: {
          fromFrac: round(from, 3),
          toFrac: round(from + span, 3),
          bandMm: round(rng.range(3, 14), 1),
        },
      };
    }
    case 'motion_blur':
      return { motionBlurMm: round(rng.range(6, 25), 1) };
    default:
      return {};
  }
}

/** The field's edge runs through the ribeye: 12–45 % of its width visible at one side, or (¼) the
 * field ends above its floor (depth set too shallow), 35–60 % of its height visible. */
function cutOff(p: PhantomParams, rng: Rng, fieldMm: number): Partial<PhantomParams> {
  if (rng.chance(0.25)) {
    const top = p.standoffMm + p.skinThicknessMm + p.fatLayersMm.reduce((s, v) => s + v, 0);
    const room = p.depthCm * 10 - top;
    if (room > 15) return { ribeyeHeightMm: round(Math.max(room / rng.range(0.35, 0.6), 20), 1), bones: [] };
  }
  const visible = rng.range(0.12, 0.45) * p.ribeyeWidthMm;
  const side = rng.chance(0.5) ? -1 : 1;
  return { ribeyeCenterXMm: round(side * (fieldMm / 2 + p.ribeyeWidthMm / 2 - visible), 1) };
}

/**
 * Longitudinal view along the back over the ribs (the backfat scan): straight skin and fat bands,
 * a muscle layer, then a row of ribs cut across — round bright tops 22–40 mm wide, 10–35 mm apart
 * (2–5 in a 110–200 mm field), each with its acoustic shadow — recorded as `bones`.
 */
function longitudinal(p: PhantomParams, rng: Rng, fieldMm: number): Partial<PhantomParams> {
  const fat = p.fatLayersMm.reduce((s, v) => s + v, 0);
  const muscleMm = rng.range(5, 35);
  const ribTop = p.standoffMm + p.skinThicknessMm + fat + muscleMm;
  // Ribs 22–40 mm wide with intercostal gaps of 10–35 mm; round tops about as tall as they are
  // half wide (the real negative: 40 mm wide, 20 mm from the top to where the shadow starts).
  const half = fieldMm / 2;
  const bones: BoneArc[] = [];
  let x = -half - rng.range(0, 60);
  while (x < half + 25) {
    const halfWidth = rng.range(11, 20);
    const height = rng.range(0.7, 1.1) * halfWidth;
    bones.push({
      xMm: round(x + halfWidth, 1),
      zMm: round(ribTop + height + rng.range(-3, 3), 1),
      halfWidthMm: round(halfWidth, 1),
      heightMm: round(height, 1),
      transmission: round(rng.range(0.05, 0.3), 2),
    });
    x += 2 * halfWidth + rng.range(10, 35);
  }
  return { bones, skinCurvature: 0, skinTilt: round(rng.range(-0.05, 0.05), 3) };
}

/** Muscle seams: a common slope (flat at the wrong site, oblique at the rump) ± a little each. */
function seams(rng: Rng, n: number, maxSlope: number): { depthMm: number; slope: number }[] {
  let depth = 0;
  const slope = rng.range(-maxSlope, maxSlope);
  return Array.from({ length: n }, () => {
    depth += rng.range(8, 28);
    return { depthMm: round(depth, 1), slope: round(slope + rng.range(-0.04, 0.04), 3) };
  });
}

/** A long flat bone surface deep in the field (transverse process, ilium) with its shadow. */
function deepFlatBone(p: PhantomParams, rng: Rng, fieldMm: number): BoneArc {
  return {
    xMm: round(rng.range(-0.3, 0.3) * fieldMm, 1),
    zMm: round(p.depthCm * 10 * rng.range(0.55, 0.8), 1),
    halfWidthMm: round(rng.range(30, 70), 1),
    heightMm: round(rng.range(2, 8), 1),
    transmission: round(rng.range(0.1, 0.4), 2),
  };
}
