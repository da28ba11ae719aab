import { columnSpans } from '@cti/imaging';
import type { Mask } from '../mask-ops.ts';
import type { CropBox } from '../preprocess.ts';

/** A field edge the ribeye's outline runs along. */
export type CutSide = 'left' | 'right' | 'bottom';

/**
 * How much of the ribeye the field's edge takes away, judged as a grader would: a ribeye whose deepest
 * part (the middle of the lens) is outside the field cannot be outlined, so its area cannot be measured
 * (`cut`); one that only touches the edge with its tip or a flank, the middle in view, is measured on
 * its visible part (`touch`, usable with caution).
 */
export type RibeyeCutOff = {
  severity: 'none' | 'touch' | 'cut';
  /** Edges of the field the outline lies on. */
  sides: CutSide[];
  /**
   * Where the lens is deepest, as a share of its visible width from the cut side (0: at the field's
   * edge, 0.5: in the middle); null when no side edge is touched.
   */
  deepestFromEdge: number | null;
  /** Height of the lens where a side cuts it, as a share of its greatest height (the taller cut side). */
  edgeHeight: number | null;
  /** Share of the lens' width whose floor lies on the field's bottom edge. */
  floorOnEdge: number;
};

/** The deepest part within this share of the visible width from a cut side: the middle is outside. */
export const DEEPEST_AT_EDGE = 0.1;
/** A floor lying on the field's bottom over at least this share of the width: the depth cuts the lens. */
export const FLOOR_ON_EDGE = 0.5;

/**
 * Cut-off severity of a ribeye mask in its field (`scanArea`, [x0, y0, x1, y1], max exclusive).
 * The lens' column heights (floor − top), smoothed over 5 % of its width, locate its deepest part; the
 * mean position of the columns within 3 % of the greatest height is used, so a flat floor does not
 * move it to one end.
 */
export function assessRibeyeCutOff(mask: Mask, field: CropBox): RibeyeCutOff {
  const spans = columnSpans(mask);
  if (!spans) return { severity: 'none', sides: [], deepestFromEdge: null, edgeHeight: null, floorOnEdge: 0 };
  const n = spans.x1 - spans.x0;
  const sides: CutSide[] = [];
  const cutLeft = spans.x0 <= field[0];
  const cutRight = spans.x1 >= field[2];
  if (cutLeft) sides.push('left');
  if (cutRight) sides.push('right');
  let onFloor = 0;
  for (let i = 0; i < n; i++) if (spans.top[i]! >= 0 && spans.bottom[i]! >= field[3] - 1) onFloor++;
  const floorOnEdge = onFloor / n;
  if (onFloor > 0) sides.push('bottom');
  let deepestFromEdge: number | null = null;
  let edgeHeight: number | null = null;
  if (cutLeft || cutRight) {
    const heights = Array.from(spans.top, (t, i) => (t >= 0 ? spans.bottom[i]! - t : 0));
    const r = Math.max(1, Math.round(0.025 * n));
    const smooth = heights.map((_, i) => {
      let s = 0;
      let k = 0;
      for (let j = Math.max(0, i - r); j <= Math.min(n - 1, i + r); j++, k++) s += heights[j]!;
      return s / k;
    });
    const max = Math.max(...smooth);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (smooth[i]! >= 0.97 * max) {
        sum += i;
        count++;
      }
    }
    const deepest = (sum / count + 0.5) / n;
    // Cut on both sides: the nearer edge decides.
    const fromLeft = cutLeft ? deepest : Number.POSITIVE_INFINITY;
    const fromRight = cutRight ? 1 - deepest : Number.POSITIVE_INFINITY;
    deepestFromEdge = Math.round(Math.min(fromLeft, fromRight) * 1000) / 1000;
    const atLeft = cutLeft ? smooth[0]! / max : 0;
    const atRight = cutRight ? smooth[n - 1]! / max : 0;
    edgeHeight = Math.round(Math.max(atLeft, atRight) * 1000) / 1000;
  }
  const cut =
    (deepestFromEdge !== null && deepestFromEdge <= DEEPEST_AT_EDGE) || floorOnEdge >= FLOOR_ON_EDGE;
  return {
    severity: cut ? 'cut' : sides.length > 0 ? 'touch' : 'none',
    sides,
    deepestFromEdge,
    edgeHeight,
    floorOnEdge: Math.round(floorOnEdge * 1000) / 1000,
  };
}
