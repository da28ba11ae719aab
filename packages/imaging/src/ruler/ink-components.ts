import type { GrayImage } from '../gray-image.ts';
import { findRoot } from '../union-find.ts';

/** One 4-connected component of ink: its box (max inclusive), pixel count and brightness-weighted row sum. */
export type InkComponent = {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
  count: number;
  /** Σ value × row over its pixels; `wy / w` is its brightness-weighted centre row. */
  wy: number;
  /** Σ value over its pixels. */
  w: number;
};

/**
 * 4-connected components of the pixels at or above `threshold` in the column ranges `ranges`
 * ([a, b), merged where they overlap or touch), those `keep` accepts (all without it), in raster
 * order of their first pixel.
 *
 * Streams rows of runs: each row's runs of ink join the runs above they share a column with, in a
 * union-find over the components still open, whose figures are merged as they join; a component
 * none of the current row's runs continues is finished, offered to `keep` and its slot reused. CPU is
 * one pass over the margin pixels plus a few operations per run, memory a few arrays the width of the
 * image: flooding pixel by pixel cost ~1.3 s on a 40 MP all-white frame (and ink + stack arrays 5
 * bytes a pixel). Only kept components are allocated: a checkerboard has millions of specks.
 *
 * @example
 * const specks = inkComponents(plane, 128, [[0, 160], [760, 940]], (c) => c.count < 4);
 */
export function inkComponents(
  plane: GrayImage,
  threshold: number,
  ranges: [number, number][],
  keep: (c: InkComponent) => boolean = () => true,
): InkComponent[] {
  const { data, width, height } = plane;
  const spans = mergeRanges(ranges, width);
  // Runs per row: at most one per two columns, plus one; two rows (above, current) are kept.
  const perRow = (width >> 1) + 2;
  let upS = new Int32Array(perRow);
  let upE = new Int32Array(perRow);
  let upL = new Int32Array(perRow);
  let curS = new Int32Array(perRow);
  let curE = new Int32Array(perRow);
  let curL = new Int32Array(perRow);
  let up = 0;
  // Open components, in slots: the above row's (roots or merged into one) and the current row's new
  // ones, so never more than two rows of runs. A root holds the figures of all merged into it.
  const cap = 2 * perRow;
  const parent = new Int32Array(cap);
  const minX = new Int32Array(cap);
  const maxX = new Int32Array(cap);
  const minY = new Int32Array(cap);
  const maxY = new Int32Array(cap);
  const count = new Float64Array(cap);
  const wy = new Float64Array(cap);
  const w = new Float64Array(cap);
  const first = new Float64Array(cap); // raster index of the first pixel: the order returned in
  const mark = new Int32Array(cap);
  const free = new Int32Array(cap);
  for (let i = 0; i < cap; i++) free[i] = cap - 1 - i;
  let nFree = cap;
  const kept: { first: number; c: InkComponent }[] = [];
  const view: InkComponent = { minX: 0, maxX: 0, minY: 0, maxY: 0, count: 0, wy: 0, w: 0 };
  for (let y = 0; y <= height; y++) {
    let cur = 0;
    let j = 0; // the first run above that may touch the next run
    const row = y * width;
    for (let r = 0; y < height && r < spans.length; r++) {
      const end = row + spans[r]![1];
      for (let i = row + spans[r]![0]; ; ) {
        while (i < end && data[i]! < threshold) i++;
        if (i === end) break;
        const x0 = i - row;
        let sum = 0;
        for (; i < end && data[i]! >= threshold; i++) sum += data[i]!;
        const x = i - row;
        // Runs above sharing a column with [x0, x): those ending after x0 and starting before x.
        while (j < up && upE[j]! <= x0) j++;
        let slot = -1;
        for (let k = j; k < up && upS[k]! < x; k++) {
          const other = findRoot(parent, upL[k]!);
          if (slot === -1) slot = other;
          else if (other !== slot) {
            // Merge `other` into `slot`.
            parent[other] = slot;
            if (minX[other]! < minX[slot]!) minX[slot] = minX[other]!;
            if (maxX[other]! > maxX[slot]!) maxX[slot] = maxX[other]!;
            if (minY[other]! < minY[slot]!) minY[slot] = minY[other]!;
            count[slot] = count[slot]! + count[other]!;
            wy[slot] = wy[slot]! + wy[other]!;
            w[slot] = w[slot]! + w[other]!;
            if (first[other]! < first[slot]!) first[slot] = first[other]!;
          }
        }
        if (slot === -1) {
          slot = free[--nFree]!;
          parent[slot] = slot;
          minX[slot] = x0;
          maxX[slot] = x - 1;
          minY[slot] = y;
          count[slot] = x - x0;
          wy[slot] = sum * y;
          w[slot] = sum;
          first[slot] = row + x0;
        } else {
          if (x0 < minX[slot]!) minX[slot] = x0;
          if (x - 1 > maxX[slot]!) maxX[slot] = x - 1;
          count[slot] = count[slot]! + (x - x0);
          wy[slot] = wy[slot]! + sum * y;
          w[slot] = w[slot]! + sum;
        }
        // Rows only grow: the run's row is the component's last so far.
        maxY[slot] = y;
        curS[cur] = x0;
        curE[cur] = x;
        curL[cur] = slot;
        cur++;
      }
    }
    // The row's runs now carry their roots; every slot of the row above that is not one of them is
    // freed: merged ones, and roots this row did not continue, which are finished components.
    const stamp = y + 1;
    for (let i = 0; i < cur; i++) {
      const r = findRoot(parent, curL[i]!);
      curL[i] = r;
      mark[r] = stamp;
    }
    for (let k = 0; k < up; k++) {
      const s = upL[k]!;
      if (mark[s] === stamp) continue;
      mark[s] = stamp;
      if (parent[s] === s) {
        view.minX = minX[s]!;
        view.maxX = maxX[s]!;
        view.minY = minY[s]!;
        view.maxY = maxY[s]!;
        view.count = count[s]!;
        view.wy = wy[s]!;
        view.w = w[s]!;
        if (keep(view)) kept.push({ first: first[s]!, c: { ...view } });
      }
      free[nFree++] = s;
    }
    [upS, curS] = [curS, upS];
    [upE, curE] = [curE, upE];
    [upL, curL] = [curL, upL];
    up = cur;
  }
  kept.sort((p, q) => p.first - q.first);
  return kept.map((k) => k.c);
}

/** Column ranges clipped to [0, width), sorted, overlapping or touching ones merged (a run may cross). */
function mergeRanges(ranges: [number, number][], width: number): [number, number][] {
  const clipped = ranges
    .map(([a, b]): [number, number] => [Math.max(0, a), Math.min(width, b)])
    .filter(([a, b]) => b > a)
    .sort((p, q) => p[0] - q[0]);
  const out: [number, number][] = [];
  for (const [a, b] of clipped) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
