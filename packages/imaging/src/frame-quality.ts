import { assertGrayImage, type GrayImage } from './gray-image.ts';

export type FrameQuality = {
  /** Mean gray (0–255) over the region. */
  meanIntensity: number;
  /** Standard deviation of gray (0–~128). */
  contrast: number;
  /** Variance of the 4-neighbour Laplacian on the ≤ 320×240 view (focus / motion blur measure). */
  sharpness: number;
  /** Share of pixels ≤ 15 (black: no contact, frozen black frame, margins). */
  darkFraction: number;
  /** Share of pixels ≥ 250 (gain too high, clipped interfaces). */
  saturatedFraction: number;
};

export type QualityOptions = {
  /** Region to judge, [x0, y0, x1, y1] max exclusive — e.g. the scan area without screen margins. */
  roi?: [number, number, number, number];
};

const VIEW_W = 320;
const VIEW_H = 240;

/**
 * Quality figures of one frame, computed on a box-averaged view of at most 320×240 (640×480 takes
 * about 1 ms). The box average keeps speckle from dominating the Laplacian, so sharpness tracks
 * structure blur (probe motion, defocus) rather than noise.
 *
 * @example
 * const q = frameQuality(gray);
 * if (q.darkFraction > 0.6) reject('probe not on the animal');
 */
export function frameQuality(gray: GrayImage, options: QualityOptions = {}): FrameQuality {
  assertGrayImage(gray);
  const view = boxView(gray, options.roi);
  const levels = viewLevels(view);
  return {
    meanIntensity: levels.meanIntensity,
    contrast: levels.contrast,
    sharpness: laplacianVariance(view),
    darkFraction: levels.darkFraction,
    saturatedFraction: levels.saturatedFraction,
  };
}

/**
 * frameQuality without the sharpness figure (its Laplacian pass is a third of the work): the same
 * mean, contrast, dark and saturated shares, computed the same way.
 *
 * @example const { darkFraction, contrast } = frameLevels(gray, { roi: scanArea });
 */
export function frameLevels(gray: GrayImage, options: QualityOptions = {}): Omit<FrameQuality, 'sharpness'> {
  assertGrayImage(gray);
  return viewLevels(boxView(gray, options.roi));
}

/**
 * frameQuality's `darkFraction` alone (share of pixels ≤ 15 over the same whole-block part of the
 * region), without building the box-averaged view.
 */
export function darkFraction(gray: GrayImage, roi?: [number, number, number, number]): number {
  assertGrayImage(gray);
  const { x0, y0, f, width, height } = viewGeometry(gray, roi);
  let dark = 0;
  const src = gray.data;
  for (let y = y0; y < y0 + height * f; y++) {
    for (let i = y * gray.width + x0, end = i + width * f; i < end; i++) if (src[i]! <= 15) dark++;
  }
  return dark / (width * height * f * f);
}

function viewLevels({ data, dark, saturated, total }: View): Omit<FrameQuality, 'sharpness'> {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / data.length;
  return {
    meanIntensity: mean,
    contrast: Math.sqrt(Math.max(0, sumSq / data.length - mean * mean)),
    darkFraction: dark / total,
    saturatedFraction: saturated / total,
  };
}

/** Variance of the 4-neighbour Laplacian over the view's interior (0 when it has none). */
function laplacianVariance({ data, width, height }: View): number {
  let lapSum = 0;
  let lapSq = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1, o = y * width + 1; x < width - 1; x++, o++) {
      const l = data[o - 1]! + data[o + 1]! + data[o - width]! + data[o + width]! - 4 * data[o]!;
      lapSum += l;
      lapSq += l * l;
      n++;
    }
  }
  const lapMean = n ? lapSum / n : 0;
  return n ? lapSq / n - lapMean * lapMean : 0;
}

type View = {
  data: Float32Array;
  width: number;
  height: number;
  dark: number;
  saturated: number;
  total: number;
};

/** The region checked against the image, its box factor and the view's size. */
function viewGeometry(gray: GrayImage, roi?: [number, number, number, number]) {
  const [x0, y0, x1, y1] = roi ?? [0, 0, gray.width, gray.height];
  if (!(x0 >= 0 && y0 >= 0 && x1 <= gray.width && y1 <= gray.height && x1 > x0 && y1 > y0)) {
    throw new RangeError(`roi ${JSON.stringify(roi)} is not inside the ${gray.width}×${gray.height} image`);
  }
  const f = Math.max(1, Math.ceil(Math.max((x1 - x0) / VIEW_W, (y1 - y0) / VIEW_H)));
  const width = Math.max(1, Math.floor((x1 - x0) / f));
  const height = Math.max(1, Math.floor((y1 - y0) / f));
  return { x0, y0, f, width, height };
}

/** Integer-factor box average of the region; dark/saturated counts come from full-resolution pixels. */
function boxView(gray: GrayImage, roi?: [number, number, number, number]): View {
  const { x0, y0, f, width, height } = viewGeometry(gray, roi);
  const data = new Float32Array(width * height);
  let dark = 0;
  let saturated = 0;
  const src = gray.data;
  for (let y = y0; y < y0 + height * f; y++) {
    const row = ((y - y0) / f) | 0;
    const off = y * gray.width;
    for (let x = x0, c = 0, k = 0; x < x0 + width * f; x++) {
      const v = src[off + x]!;
      if (v <= 15) dark++;
      else if (v >= 250) saturated++;
      data[row * width + c] = data[row * width + c]! + v;
      if (++k === f) {
        k = 0;
        c++;
      }
    }
  }
  const inv = 1 / (f * f);
  for (let i = 0; i < data.length; i++) data[i] = data[i]! * inv;
  return { data, width, height, dark, saturated, total: width * height * f * f };
}

/**
 * Mean absolute gray difference between two frames of the same size (sampled on a grid of at most
 * ~77k pixels). Live B-mode frames differ by several gray levels from speckle decorrelation alone;
 * a frozen or repeated frame gives ~0.
 */
export function frameDifference(a: GrayImage, b: GrayImage): number {
  assertGrayImage(a, 'a');
  assertGrayImage(b, 'b');
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`frames differ in size: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  }
  const step = Math.max(1, Math.floor(Math.sqrt((a.width * a.height) / (VIEW_W * VIEW_H))));
  let sum = 0;
  let n = 0;
  for (let y = 0; y < a.height; y += step) {
    const off = y * a.width;
    for (let x = 0; x < a.width; x += step) {
      sum += Math.abs(a.data[off + x]! - b.data[off + x]!);
      n++;
    }
  }
  return sum / n;
}
