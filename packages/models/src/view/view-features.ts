/**
 * The inputs of the view verdict, all computed from what the hint already has: its preprocessed
 * tensor (the scan-area crop at S×S, values 0–1) and its raw output (box, IoU score and, from
 * ribeye-hint 3.x on, one logit per view class). Nothing here decodes or resizes again, so the
 * verdict adds well under a millisecond to the hint.
 */

/** Image statistics of the preprocessed scan-area crop (0–1 gray). */
export type ViewStats = {
  /** Mean gray. */
  mean: number;
  /** Standard deviation of gray: a flat frame (air, no echo) is low. */
  contrast: number;
  /** Share of pixels below 15/255 (probe off the animal, black frame). */
  darkFraction: number;
  /** Share of pixels above 245/255 (gain far too high). */
  saturatedFraction: number;
  /** Mean of the top 15 % of rows minus the mean of the rows below 30 %: a lifted probe leaves a
   * bright ring-down band over a dark field. */
  topBand: number;
  /** Mean |horizontal gradient| ÷ mean |vertical gradient| inside the crop: a lateral sweep smears
   * the image sideways and this falls. */
  gradientRatio: number;
  /** ln(mean |I(x+1) − I(x)| ÷ mean |I(x+4) − I(x)|) along rows: how much of the horizontal
   * variation is at the finest scale. Speckle decorrelates within a few pixels (near 0 … −1); a
   * lateral smear (motion blur) makes neighbours alike and this falls well below −1. A ratio of
   * the image's own differences, so gain and contrast cancel out. */
  hSharpness: number;
  /** The same down the columns (axial): near the lateral figure on an upsampled (small) frame,
   * where both fall together, unchanged by a lateral sweep. */
  vSharpness: number;
  /** Mean gray inside the hint's box minus the mean of the rest of the crop (0 without a box): a
   * ribeye — muscle with its marbling, over the rib's shadow — is brighter than what surrounds it;
   * what the hint boxes on a longitudinal view (the dark muscle between the fat bands and the rib
   * tops) is darker. */
  boxBrightness: number;
};

/** Lag of the coarse difference in the sharpness ratios (px of the S×S crop). */
const SHARPNESS_LAG = 4;

/**
 * `box`: the hint's raw output (its first four numbers, the box as fractions of the crop); without
 * it `boxBrightness` is 0.
 */
export function viewStats(t: Float32Array, size: number, box?: ArrayLike<number>): ViewStats {
  const n = size * size;
  let sum = 0;
  let sum2 = 0;
  let dark = 0;
  let sat = 0;
  for (let i = 0; i < n; i++) {
    const v = t[i]!;
    sum += v;
    sum2 += v * v;
    if (v < 15 / 255) dark++;
    else if (v > 245 / 255) sat++;
  }
  const mean = sum / n;
  const rows = (a: number, b: number) => {
    const y0 = Math.floor(a * size);
    const y1 = Math.floor(b * size);
    let s = 0;
    for (let i = y0 * size; i < y1 * size; i++) s += t[i]!;
    return s / Math.max(1, (y1 - y0) * size);
  };
  // Gradients away from the crop's border (scan-area edges and black corners of sectors).
  const m = Math.round(size / 16);
  let gh = 0;
  let gv = 0;
  for (let y = m; y < size - m; y++) {
    for (let x = m; x < size - m; x++) {
      const i = y * size + x;
      gh += Math.abs(t[i + 1]! - t[i]!);
      gv += Math.abs(t[i + size]! - t[i]!);
    }
  }
  // Fine vs coarse differences on the same pixel pairs' span (x+1 and x+L from x, L = SHARPNESS_LAG).
  const L = SHARPNESS_LAG;
  let h1 = 0;
  let hL = 0;
  let v1 = 0;
  let vL = 0;
  for (let y = m; y < size - m - L; y++) {
    for (let x = m; x < size - m - L; x++) {
      const i = y * size + x;
      const c = t[i]!;
      h1 += Math.abs(t[i + 1]! - c);
      hL += Math.abs(t[i + L]! - c);
      v1 += Math.abs(t[i + size]! - c);
      vL += Math.abs(t[i + L * size]! - c);
    }
  }
  // A flat crop has no differences at all: call it neither sharp nor smeared (0).
  const ratio = (fine: number, coarse: number) => (fine > 0 && coarse > 0 ? Math.log(fine / coarse) : 0);
  return {
    mean,
    contrast: Math.sqrt(Math.max(0, sum2 / n - mean * mean)),
    darkFraction: dark / n,
    saturatedFraction: sat / n,
    topBand: rows(0, 0.15) - rows(0.3, 1),
    gradientRatio: gv > 0 ? gh / gv : 1,
    hSharpness: ratio(h1, hL),
    vSharpness: ratio(v1, vL),
    boxBrightness: box ? boxBrightness(t, size, box, sum) : 0,
  };
}

/** Mean inside the box (clipped to the crop) minus the mean outside; 0 when either side is empty. */
function boxBrightness(t: Float32Array, size: number, box: ArrayLike<number>, total: number): number {
  const px = (v: number) => Math.max(0, Math.min(size, Math.round(v * size)));
  const x0 = px(box[0]!);
  const y0 = px(box[1]!);
  const x1 = px(box[2]!);
  const y1 = px(box[3]!);
  const inside = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const outside = size * size - inside;
  if (inside === 0 || outside === 0) return 0;
  let s = 0;
  for (let y = y0; y < y1; y++) for (let i = y * size + x0; i < y * size + x1; i++) s += t[i]!;
  return s / inside - (total - s) / outside;
}

const logit = (p: number) => {
  const q = Math.min(1 - 1e-4, Math.max(1e-4, p));
  return Math.log(q / (1 - q));
};

/**
 * Every feature a view card may name, from the stats and the hint's raw output
 * (`[x0, y0, x1, y1, score, ...classLogits]`). Features are oriented so that larger means "more
 * like a problem" or "more like a ribeye" monotonically; the card's logistic weights combine them.
 */
type Feature = (s: ViewStats, out: Float32Array) => number;

export const FEATURES: Record<string, Feature> = {
  hint_score_logit: (_s, out) => logit(out[4]!),
  /** log P(ribeye) − log P(any other class) from the softmax of the hint's view head (3.x). */
  view_logit: (_s, out) => {
    if (out.length < 7) return Number.NaN;
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 6; k < out.length; k++) m = Math.max(m, out[k]!);
    let others = 0;
    for (let k = 6; k < out.length; k++) others += Math.exp(out[k]! - m);
    return out[5]! - (m + Math.log(others));
  },
  contrast: (s) => s.contrast,
  low_contrast: (s) => Math.max(0, 0.08 - s.contrast),
  darkness: (s) => Math.max(0, 0.12 - s.mean),
  dark_fraction: (s) => s.darkFraction,
  saturated_fraction: (s) => s.saturatedFraction,
  top_band: (s) => s.topBand,
  gradient_ratio: (s) => s.gradientRatio,
  /** How far the box hugs the crop's left or right edge: 1 = touching, 0 = 10 % or more inside. */
  box_at_edge: (_s, out) => Math.max(0, 1 - 10 * Math.min(out[0]!, 1 - out[2]!)),
  box_width: (_s, out) => out[2]! - out[0]!,
  box_height: (_s, out) => out[3]! - out[1]!,
  /** Lateral fine-scale variation (see ViewStats.hSharpness): low on a mid-sweep frame. */
  h_sharpness: (s) => s.hSharpness,
  box_brightness: (s) => s.boxBrightness,
  v_sharpness: (s) => s.vSharpness,
};

/** The values of `names` (a card's feature list); throws on a name this code does not know. */
export function featureVector(names: string[], stats: ViewStats, out: Float32Array): number[] {
  return names.map((name) => {
    const f = FEATURES[name];
    if (!f) throw new Error(`unknown view feature "${name}"`);
    return f(stats, out);
  });
}
