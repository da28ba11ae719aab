import type { GrayImage } from '../gray-image.ts';

/** A binary mask: 1 inside, 0 outside, same layout as a GrayImage. */
export type BinaryMask = GrayImage;

/** [x0, y0, x1, y1], max exclusive. */
export type Box = [number, number, number, number];

/** Per column of the mask's extent: first and one-past-last row inside it (-1 where the column is empty). */
export type ColumnSpans = { x0: number; x1: number; top: Int32Array; bottom: Int32Array };

/** The mask's column range and, for each of those columns, its top and bottom rows. Null when empty. */
export function columnSpans(mask: BinaryMask): ColumnSpans | null {
  const { data, width, height } = mask;
  const top = new Int32Array(width).fill(-1);
  const bottom = new Int32Array(width).fill(-1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x] !== 1) continue;
      if (top[x] === -1) top[x] = y;
      bottom[x] = y + 1;
    }
  }
  let x0 = 0;
  while (x0 < width && top[x0] === -1) x0++;
  if (x0 === width) return null;
  let x1 = width;
  while (top[x1 - 1] === -1) x1--;
  return { x0, x1, top: top.slice(x0, x1), bottom: bottom.slice(x0, x1) };
}

/** Pixels inside the mask. */
export function maskArea(mask: BinaryMask): number {
  let n = 0;
  for (const v of mask.data) n += v === 1 ? 1 : 0;
  return n;
}

function cross(o: [number, number], a: [number, number], b: [number, number]): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** Area of the convex hull of the mask's pixel squares (monotone chain over each row's end corners). */
export function convexHullArea(mask: BinaryMask): number {
  const { data, width, height } = mask;
  const points: [number, number][] = [];
  for (let y = 0; y < height; y++) {
    let a = -1;
    let b = -1;
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] !== 1) continue;
      if (a < 0) a = x;
      b = x;
    }
    if (a >= 0) points.push([a, y], [b + 1, y], [a, y + 1], [b + 1, y + 1]);
  }
  if (points.length < 3) return 0;
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
