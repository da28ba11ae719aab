import type { GrayImage, RasterImage } from '../gray-image.ts';

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
 */
export function valuePlane(image: RasterImage | GrayImage): GrayImage {
  const channels = 'channels' in image ? image.channels : 1;
  if (channels === 1) return { data: image.data, width: image.width, height: image.height };
  const out = new Uint8Array(image.width * image.height);
  for (let i = 0, p = 0; i < out.length; i++, p += 3) {
    out[i] = Math.max(image.data[p]!, image.data[p + 1]!, image.data[p + 2]!);
  }
  return { data: out, width: image.width, height: image.height };
}

/** Is column x outside the scan area (where screen furniture lives)? */
function marginColumn(x: number, scanArea: Box | undefined): boolean {
  return scanArea === undefined || x < scanArea[0] || x >= scanArea[2];
}

/**
 * Ink threshold for the margins: halfway between their background (median) and their brightest
 * marks (99.7th percentile), never below 48, so anti-aliased edges and dim noise stay out.
 */
export function inkThreshold(plane: GrayImage, scanArea: Box | undefined): number {
  const histogram = new Float64Array(256);
  let total = 0;
  const { data, width, height } = plane;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!marginColumn(x, scanArea)) continue;
      histogram[data[y * width + x]!]!++;
      total++;
    }
  }
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

type Component = {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
  count: number;
  wy: number;
  w: number;
};

/** 4-connected components of ink pixels in the margin columns. */
export function inkComponents(plane: GrayImage, threshold: number, scanArea: Box | undefined): Component[] {
  const { data, width, height } = plane;
  const seen = new Uint8Array(width * height);
  const stack: number[] = [];
  const components: Component[] = [];
  const isInk = (i: number, x: number) => data[i]! >= threshold && marginColumn(x, scanArea);
  for (let start = 0; start < data.length; start++) {
    if (seen[start] || !isInk(start, start % width)) continue;
    const c: Component = { minX: width, maxX: -1, minY: height, maxY: -1, count: 0, wy: 0, w: 0 };
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      const v = data[p]!;
      c.count++;
      c.wy += v * y;
      c.w += v;
      if (x < c.minX) c.minX = x;
      if (x > c.maxX) c.maxX = x;
      if (y < c.minY) c.minY = y;
      if (y > c.maxY) c.maxY = y;
      for (const [q, qx] of [
        [p - 1, x - 1],
        [p + 1, x + 1],
        [p - width, x],
        [p + width, x],
      ] as const) {
        if (qx < 0 || qx >= width || q < 0 || q >= data.length || seen[q] || !isInk(q, qx)) continue;
        seen[q] = 1;
        stack.push(q);
      }
    }
    components.push(c);
  }
  return components;
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
  const plane = valuePlane(image);
  const threshold = inkThreshold(plane, scanArea);
  const maxThickness = Math.max(3, Math.round(plane.height / 180));
  const maxLength = Math.max(8, Math.round(0.1 * plane.width));
  const ticks: TickMark[] = [];
  for (const c of inkComponents(plane, threshold, scanArea)) {
    const w = c.maxX - c.minX + 1;
    const h = c.maxY - c.minY + 1;
    if (h > maxThickness || w < 2 * h || w < 3 || w > maxLength || c.count < 0.75 * w * h) continue;
    ticks.push({ x0: c.minX, x1: c.maxX + 1, y: c.wy / c.w, thickness: h });
  }
  return { plane, threshold, ticks };
}
