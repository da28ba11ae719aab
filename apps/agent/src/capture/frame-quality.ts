export type GrayPixels = { data: Uint8Array; width: number; height: number };

export type FrameQuality = {
  /** Mean gray level, 0-255. */
  meanIntensity: number;
  /** Standard deviation of gray levels (global contrast). */
  contrast: number;
  /** Mean absolute 4-neighbour Laplacian: high for crisp speckle and edges, low for blur or flat fields. */
  sharpness: number;
  /** Share of pixels below 16 (probe lifted: near-black). */
  darkFraction: number;
  /** Share of pixels at or above 250 (gain far too high). */
  saturatedFraction: number;
};

// Every second row and column: a 4× cheaper estimate that ranks frames the same way.
const STEP = 2;

/** Quality figures of one 8-bit gray frame; cheap enough to run on every frame in a capture window. */
export function frameQuality({ data, width, height }: GrayPixels): FrameQuality {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let dark = 0;
  let saturated = 0;
  let lap = 0;
  let lapN = 0;
  for (let y = 0; y < height; y += STEP) {
    const row = y * width;
    for (let x = 0; x < width; x += STEP) {
      const v = data[row + x]!;
      n++;
      sum += v;
      sumSq += v * v;
      if (v < 16) dark++;
      if (v >= 250) saturated++;
      if (x > 0 && y > 0 && x < width - 1 && y < height - 1) {
        const l =
          4 * v - data[row + x - 1]! - data[row + x + 1]! - data[row - width + x]! - data[row + width + x]!;
        lap += Math.abs(l);
        lapN++;
      }
    }
  }
  const mean = sum / n;
  return {
    meanIntensity: mean,
    contrast: Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    sharpness: lapN > 0 ? lap / lapN : 0,
    darkFraction: dark / n,
    saturatedFraction: saturated / n,
  };
}

/** Mean absolute difference per pixel (0 = identical); Infinity when the sizes differ. */
export function frameDifference(a: GrayPixels, b: GrayPixels): number {
  if (a.width !== b.width || a.height !== b.height) return Number.POSITIVE_INFINITY;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 3) {
    sum += Math.abs(a.data[i]! - b.data[i]!);
    n++;
  }
  return sum / n;
}

/** Ranking score for "best frame in the window": crisp and contrasty wins. */
export function frameScore(q: FrameQuality): number {
  return q.sharpness * Math.sqrt(q.contrast);
}
