import type { GrayImage } from '../gray-image.ts';

/** A binary mask: 1 inside, 0 outside, same layout as a GrayImage. */
export type BinaryMask = GrayImage;

/** [x0, y0, x1, y1], max exclusive. */
export type Box = [number, number, number, number];

/**
 * Per column of the mask's extent: first and one-past-last row inside it, and the mask's area and
 * bounding box, all from one pass over the image.
 */
export type ColumnSpans = {
  x0: number;
  x1: number;
  top: Int32Array;
  bottom: Int32Array;
  /** Pixels inside the mask. */
  area: number;
  /** [x0, y0, x1, y1], max exclusive. */
  bbox: Box;
};

// Grading measures one mask many times (area, dimensions, fat, solidity, texture, edges): the spans
// are computed once per mask buffer. Masks are treated as immutable once measured.
const spansCache = new WeakMap<Uint8Array, { width: number; spans: ColumnSpans | null }>();

/**
 * The mask's column range and, for each of those columns, its top and bottom rows; its area and
 * bounding box. Null when empty. Cached per mask buffer (do not modify a mask after measuring it).
 */
export function columnSpans(mask: BinaryMask): ColumnSpans | null {
  const cached = spansCache.get(mask.data);
  if (cached !== undefined && cached.width === mask.width) return cached.spans;
  const spans = computeSpans(mask);
  spansCache.set(mask.data, { width: mask.width, spans });
  return spans;
}

function computeSpans(mask: BinaryMask): ColumnSpans | null {
  const { data, width, height } = mask;
  const top = new Int32Array(width).fill(-1);
  const bottom = new Int32Array(width).fill(-1);
  let area = 0;
  let y0 = -1;
  let y1 = -1;
  // Most rows are empty: jump natively to the next set byte before looking at pixels — through a
  // Buffer view, whose indexOf is memchr (Uint8Array's is V8's byte-at-a-time loop, ~30× slower).
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  for (let y = 0; y < height; y++) {
    const first = bytes.indexOf(1, y * width);
    if (first === -1) break;
    y = Math.floor(first / width);
    const row = y * width;
    if (y0 < 0) y0 = y;
    y1 = y + 1;
    for (let x = first - row; x < width; x++) {
      if (data[row + x] !== 1) continue;
      area++;
      if (top[x] === -1) top[x] = y;
      bottom[x] = y + 1;
    }
  }
  if (area === 0) return null;
  let x0 = 0;
  while (top[x0] === -1) x0++;
  let x1 = width;
  while (top[x1 - 1] === -1) x1--;
  return { x0, x1, top: top.slice(x0, x1), bottom: bottom.slice(x0, x1), area, bbox: [x0, y0, x1, y1] };
}

/** Pixels inside the mask. */
export function maskArea(mask: BinaryMask): number {
  return columnSpans(mask)?.area ?? 0;
}

function cross(o: [number, number], a: [number, number], b: [number, number]): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/**
 * Area of the convex hull of the mask's pixel squares. The hull of a set is the hull of its extreme
 * points, so each column's top and bottom corners suffice (O(width), no pass over the image).
 */
export function convexHullArea(mask: BinaryMask): number {
  const spans = columnSpans(mask);
  if (!spans) return 0;
  const points: [number, number][] = [];
  for (let i = 0; i < spans.top.length; i++) {
    if (spans.top[i]! < 0) continue;
    const x = spans.x0 + i;
    points.push([x, spans.top[i]!], [x + 1, spans.top[i]!], [x, spans.bottom[i]!], [x + 1, spans.bottom[i]!]);
  }
  points.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const half = (pts: [number, number][]) => {
    const chain: [number, number][] = [];
    for (const p of pts) {
      while (chain.length >= 2 && cross(chain[chain.length - 2]!, chain[chain.length - 1]!, p) <= 0)
        chain.pop();
      chain.push(p);
    }
    return chain.slice(0, -1);
  };
  const hull = [...half(points), ...half([...points].reverse())];
  let twice = 0;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    twice += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(twice) / 2;
}

/**
 * Solidity = area / convex hull area: about 0.95 for a lens-shaped ribeye, lower when the outline
 * wraps around bright rib domes poking up into it (a longitudinal view over the ribs). 0 when empty.
 *
 * @example if (maskSolidity(mask) < 0.8) reasons.push('outline not lens-shaped');
 */
export function maskSolidity(mask: BinaryMask): number {
  const hull = convexHullArea(mask);
  return hull === 0 ? 0 : maskArea(mask) / hull;
}

/**
 * The ribeye's width (its column span) and depth (its tallest column), px; null when empty. Multiply
 * by the pixel spacing for mm (square pixels).
 */
export function ribeyeDimensions(mask: BinaryMask): { widthPx: number; depthPx: number } | null {
  const spans = columnSpans(mask);
  if (!spans) return null;
  let depthPx = 0;
  for (let i = 0; i < spans.top.length; i++) depthPx = Math.max(depthPx, spans.bottom[i]! - spans.top[i]!);
  return { widthPx: spans.x1 - spans.x0, depthPx };
}
