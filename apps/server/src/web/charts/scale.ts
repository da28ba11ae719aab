// Linear scales and "nice" ticks (1, 2, 5 × 10ⁿ) for the server-drawn SVG charts.

export type Ticks = { min: number; max: number; step: number; values: number[] };

/** A round number near `x`: 1, 2, 5 or 10 × 10ⁿ (Heckbert, "Nice numbers for graph labels"). */
export function niceNumber(x: number, round: boolean): number {
  const exponent = Math.floor(Math.log10(x));
  const fraction = x / 10 ** exponent;
  let nice: number;
  if (round) nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * 10 ** exponent;
}

/**
 * About `count` ticks (d3's rule: step = nice((max − min) / (count − 1))) at round numbers that cover [min, max]. A zero-width range (one value, or all
 * equal) is widened around the value so it still gets an axis; `includeZero` pins the axis to 0
 * (counts, bar heights — a bar must start at zero to be read honestly).
 *
 * @example niceTicks(62.3, 97.8, 5) // { min: 60, max: 100, step: 10, values: [60, 70, 80, 90, 100] }
 */
export function niceTicks(min: number, max: number, count = 5, { includeZero = false } = {}): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new RangeError('ticks need finite bounds');
  if (min > max) [min, max] = [max, min];
  if (includeZero) [min, max] = [Math.min(0, min), Math.max(0, max)];
  if (min === max) {
    const half = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = includeZero ? [0, 1] : [min - half, max + half];
  }
  const step = niceNumber((max - min) / Math.max(1, count - 1), true);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const decimals = decimalsOf(step);
  const values: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) values.push(roundTo(lo + i * step, decimals));
  return { min: values[0]!, max: values.at(-1)!, step, values };
}

/** Decimal places a tick label needs for this step (0.5 → 1, 20 → 0). */
export function decimalsOf(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

export function roundTo(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** Tick text: as many decimals as the step needs, a real minus sign, no "-0". */
export function formatTick(value: number, step: number): string {
  const text = (Object.is(value, -0) ? 0 : value).toFixed(decimalsOf(step));
  return text.startsWith('-') && Number(text) !== 0 ? `−${text.slice(1)}` : text.replace(/^-/, '');
}

/** Maps [d0, d1] onto [r0, r1] linearly (r0 > r1 for a y axis that grows upwards). */
export function linearScale([d0, d1]: readonly [number, number], [r0, r1]: readonly [number, number]) {
  const span = d1 - d0 || 1;
  return (x: number) => roundTo(r0 + ((x - d0) / span) * (r1 - r0), 2);
}

/** Pixel coordinates rounded to 0.01: smaller SVG, and tests can compare them exactly. */
export const px = (x: number) => roundTo(x, 2);
