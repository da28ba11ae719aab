export type Box = [number, number, number, number];

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function boxIou(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = boxArea(a) + boxArea(b) - inter;
  return union <= 0 ? 0 : inter / union;
}

/** Dice of two 0/1 masks of equal size (1 when both are empty). */
export function dice(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    sa += a[i]!;
    sb += b[i]!;
    inter += a[i]! & b[i]!;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

export function mean(values: number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, v) => a + v, 0) / values.length;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Relative box [0,1] (e.g. a constant prior) -> pixels of a width×height frame. */
export function scaleBox(rel: Box, width: number, height: number): Box {
  return [rel[0] * width, rel[1] * height, rel[2] * width, rel[3] * height];
}
