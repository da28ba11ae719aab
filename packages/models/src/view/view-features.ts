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
};

export function viewStats(t: Float32Array, size: number): ViewStats {
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
  return {
    mean,
    contrast: Math.sqrt(Math.max(0, sum2 / n - mean * mean)),
    darkFraction: dark / n,
    saturatedFraction: sat / n,
    topBand: rows(0, 0.15) - rows(0.3, 1),
    gradientRatio: gv > 0 ? gh / gv : 1,
  };
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
export const FEATURES: Record<string, (s: ViewStats, out: Float32Array) => number> = {
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
};

/** The values of `names` (a card's feature list); throws on a name this code does not know. */
export function featureVector(names: string[], stats: ViewStats, out: Float32Array): number[] {
  return names.map((name) => {
    const f = FEATURES[name];
    if (!f) throw new Error(`unknown view feature "${name}"`);
    return f(stats, out);
  });
}
