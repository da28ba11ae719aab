import type { GrayImage, RasterImage } from '../gray-image.ts';
import { type InkComponent, inkComponents } from './ink-components.ts';

/** [x0, y0, x1, y1], max exclusive. */
export type Box = [number, number, number, number];

/** A short, solid, horizontal bar on the screen margin: a candidate depth-ruler tick. */
export type TickMark = {
  /** First and one-past-last column. */
  x0: number;
  x1: number;
  /** Brightness-weighted centre row (sub-pixel). */
  y: number;
  /** Rows it spans (its line thickness). */
  thickness: number;
};

/**
 * Brightest channel per pixel. Scanners draw rulers white, gray or coloured (a pure blue tick has a
 * Rec. 601 luma of 29 but a value of 255), so marks are found on the value plane, not on gray.
 * With a scan area, only the columns outside it are filled (the rest stay 0): rulers live there.
 */
export function valuePlane(image: RasterImage | GrayImage, scanArea?: Box): GrayImage {
  const channels = 'channels' in image ? image.channels : 1;
  const { width, height } = image;
  if (channels === 1) return { data: image.data, width, height };
  const out = new Uint8Array(width * height);
  const ranges = marginRanges(width, scanArea);
  for (let y = 0; y < height; y++) {
    for (const [a, b] of ranges) {
      for (let x = a, i = y * width + a, p = i * 3; x < b; x++, i++, p += 3) {
        out[i] = Math.max(image.data[p]!, image.data[p + 1]!, image.data[p + 2]!);
      }
    }
  }
  return { data: out, width, height };
}

/** Column ranges [a, b) outside the scan area, where screen furniture lives (all columns without one). */
export function marginRanges(width: number, scanArea: Box | undefined): [number, number][] {
  if (!scanArea) return [[0, width]];
  return [
    [0, Math.max(0, Math.min(width, scanArea[0]))],
    [Math.max(0, Math.min(width, scanArea[2])), width],
  ];
}

/**
 * Ink threshold for the margins: halfway between their background (median) and their brightest
 * marks (99.7th percentile), never below 48, so anti-aliased edges and dim noise stay out.
 */
export function inkThreshold(plane: GrayImage, scanArea: Box | undefined): number {
  // Four interleaved histograms, summed at the end: margins are mostly one value (black), and one
  // counter bumped pixel after pixel waits for its own last store every time.
  const parts = new Uint32Array(4 * 256);
  let total = 0;
  const { data, width, height } = plane;
  for (const [a, b] of marginRanges(width, scanArea)) {
    if (b <= a) continue;
    for (let y = 0; y < height; y++) {
      let i = y * width + a;
      const end = y * width + b;
      for (; i + 3 < end; i += 4) {
        parts[data[i]! * 4]!++;
        parts[data[i + 1]! * 4 + 1]!++;
        parts[data[i + 2]! * 4 + 2]!++;
        parts[data[i + 3]! * 4 + 3]!++;
      }
      for (; i < end; i++) parts[data[i]! * 4]!++;
    }
    total += (b - a) * height;
  }
  const histogram = new Uint32Array(256);
  for (let v = 0; v < 256; v++)
    histogram[v] = parts[v * 4]! + parts[v * 4 + 1]! + parts[v * 4 + 2]! + parts[v * 4 + 3]!;
  if (total === 0) return 256;
  const quantile = (q: number) => {
    let seen = 0;
    for (let v = 0; v < 256; v++) {
      seen += histogram[v]!;
      if (seen >= q * total) return v;
    }
    return 255;
  };
  const background = quantile(0.5);
  return Math.max(48, Math.round((background + quantile(0.997)) / 2));
}

/**
 * Tick candidates: components that are thin (at most `maxThickness` rows), at least twice as wide as
 * thick, solid (≥ 75 % of their box is ink) and short (≤ 10 % of the image width). Text glyphs are
 * taller than wide or hollow, tissue never reaches the margins.
 */
export function findTickMarks(
  image: RasterImage | GrayImage,
  { scanArea }: { scanArea?: Box } = {},
): { plane: GrayImage; threshold: number; ticks: TickMark[] } {
  const plane = valuePlane(image, scanArea);
  const threshold = inkThreshold(plane, scanArea);
  const maxThickness = Math.max(3, Math.round(plane.height / 180));
  const maxLength = Math.max(8, Math.round(0.1 * plane.width));
  const isTick = (c: InkComponent) => {
    const w = c.maxX - c.minX + 1;
    const h = c.maxY - c.minY + 1;
    return h <= maxThickness && w >= 2 * h && w >= 3 && w <= maxLength && c.count >= 0.75 * w * h;
  };
  const ticks = inkComponents(plane, threshold, marginRanges(plane.width, scanArea), isTick).map((c) => ({
    x0: c.minX,
    x1: c.maxX + 1,
    y: c.wy / c.w,
    thickness: c.maxY - c.minY + 1,
  }));
  return { plane, threshold, ticks };
}
