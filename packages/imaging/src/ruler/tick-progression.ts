/**
 * Evenly spaced positions (ruler ticks) among candidate positions: y ≈ start + k · period for integer
 * k, some k missing (a tick hidden behind a focus marker), some candidates not ticks at all.
 */
export type Progression = {
  start: number;
  /** Distance between consecutive ticks, px (least squares over the inliers). */
  period: number;
  /** Index k of each inlier, in the order of `members`. */
  indices: number[];
  /** Positions of the inliers, ascending. */
  members: number[];
  /** Root mean square distance of the inliers from start + k · period, px. */
  rmsPx: number;
};

const tolerance = (period: number) => Math.max(1, 0.06 * period);

function inliersFor(ys: number[], start: number, period: number, tol: number) {
  const byIndex = new Map<number, number>();
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i]!;
    const k = Math.round((y - start) / period);
    const residual = Math.abs(y - start - k * period);
    if (residual > tol) continue;
    const previous = byIndex.get(k);
    if (previous === undefined || residual < Math.abs(previous - start - k * period)) byIndex.set(k, y);
  }
  const indices = [...byIndex.keys()].sort((a, b) => a - b);
  return { indices, members: indices.map((k) => byIndex.get(k)!) };
}

/**
 * How many positions lie within `tol` of start + k · period: the search's cheap score, called ~36 times
 * per mark. An index loop, not for…of: the iterator's result objects were ~1.7 MB of garbage per
 * reading of a 640×480 screen.
 */
function countNear(ys: number[], start: number, period: number, tol: number): number {
  let count = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i]!;
    const k = Math.round((y - start) / period);
    if (Math.abs(y - start - k * period) <= tol) count++;
  }
  return count;
}

function leastSquares(indices: number[], members: number[]) {
  const n = indices.length;
  const mk = indices.reduce((s, k) => s + k, 0) / n;
  const my = members.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (indices[i]! - mk) * (members[i]! - my);
    sxx += (indices[i]! - mk) ** 2;
  }
  const period = sxx === 0 ? 0 : sxy / sxx;
  return { start: my - period * mk, period };
}

/**
 * The best evenly spaced subset of `positions`: pairs of positions propose periods, the one
 * explaining the most positions wins (ties: the longer period, so half-periods lose), then start and
 * period are refined by least squares. Null unless at least `minTicks` positions fit, spanning at
 * least `minTicks - 1` periods with at most 40 % of the ticks in between missing, within
 * max(0.6 px, 2 % of the period, at most 1 px) RMS.
 */
export function fitProgression(
  positions: number[],
  { minPeriod = 4, minTicks = 5 }: { minPeriod?: number; minTicks?: number } = {},
): Progression | null {
  const ys = [...positions].sort((a, b) => a - b);
  let best: { count: number; period: number; start: number } | null = null;
  // Periods proposed by pairs up to 8 positions apart spanning 1..n intervals: pixel rounding makes a
  // single neighbouring pair (12, 11, 12 … for 11.5 px) too coarse a guess.
  for (let i = 0; i + 1 < ys.length; i++) {
    for (let j = i + 1; j < Math.min(ys.length, i + 9); j++) {
      for (let n = 1; n <= j - i; n++) {
        const period = (ys[j]! - ys[i]!) / n;
        if (period < minPeriod) continue;
        const count = countNear(ys, ys[i]!, period, tolerance(period));
        if (!best || count > best.count || (count === best.count && period > best.period)) {
          best = { count, period, start: ys[i]! };
        }
      }
    }
  }
  if (!best || best.count < minTicks) return null;
  let fit = { start: best.start, period: best.period };
  let members: number[] = [];
  let indices: number[] = [];
  for (let round = 0; round < 2; round++) {
    ({ indices, members } = inliersFor(ys, fit.start, fit.period, tolerance(fit.period)));
    if (indices.length < 2) return null;
    fit = leastSquares(indices, members);
  }
  const span = indices[indices.length - 1]! - indices[0]!;
  if (indices.length < minTicks || span < minTicks - 1 || indices.length < 0.6 * (span + 1)) return null;
  const k0 = indices[0]!;
  const rmsPx = Math.sqrt(
    members.reduce((s, y, i) => s + (y - fit.start - indices[i]! * fit.period) ** 2, 0) / members.length,
  );
  // A drawn ruler puts each tick on the row nearest its depth (0.28–0.31 px RMS on real and phantom
  // screens); 2 % of a long period alone would let noise marks scattered by pixels pass as ticks.
  if (fit.period < minPeriod || rmsPx > Math.max(0.6, Math.min(1, 0.02 * fit.period))) return null;
  return {
    start: fit.start + k0 * fit.period,
    period: fit.period,
    indices: indices.map((k) => k - k0),
    members,
    rmsPx,
  };
}
