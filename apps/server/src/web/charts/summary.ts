// Numbers in words for chart descriptions and notes: what a screen reader says instead of the picture.

/** Values that are real numbers; null/undefined/NaN are "missing", never drawn as 0. */
export function present(values: readonly (number | null | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

export function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** 81.25 → "81.3", 12 → "12": one decimal where it matters, like the measurements elsewhere. */
export function formatNumber(x: number, decimals = 1): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(decimals);
}

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "3 without a value" or nothing. */
export function missingNote(missing: number, noun: string): string | undefined {
  return missing > 0
    ? `${plural(missing, noun)} without a value ${missing === 1 ? 'is' : 'are'} not drawn.`
    : undefined;
}

/**
 * [min, max] of a non-empty list, in one pass: `Math.min(...values)` passes every value as an argument
 * and throws RangeError past ~120,000 values (a year of a large farm's scans).
 */
export function extent(values: readonly number[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}
