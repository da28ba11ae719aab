import {
  type ColumnSpans,
  columnSpans,
  type FatThickness,
  findSkinBand,
  type GrayImage,
  skinBandEnd,
} from '@cti/imaging';
import type { Mask } from '../mask-ops.ts';
import type { CropBox } from '../preprocess.ts';

/** Half-width of the span read around the measuring point, as a share of the ribeye's visible length. */
export const FAT_SPAN_HALF = 0.1;
/** Readings taken along the span. */
export const FAT_SPAN_READINGS = 9;
/** Readings whose interquartile range exceeds this share of their median disagree: no measurement. */
export const FAT_SPAN_MAX_SPREAD = 0.3;
/** Notches in the ribeye's top narrower than this share of its length are filled before reading it. */
export const TOP_NOTCH_WIDTH = 0.06;

/** One reading of the fat along the span: the column, the skin/fat interface and the ribeye's top, px. */
export type FatReading = { x: number; skinY: number; topY: number; thicknessPx: number };

export type FatSpan =
  | {
      ok: true;
      /** Median of the readings along the span, px. */
      thicknessPx: number;
      /** Interquartile range of the readings, px. */
      spreadPx: number;
      /** The median reading (its column, skin and top), for the overlay. */
      median: FatReading;
      readings: number;
      /** Share of the visible length from the medial end the span covers. */
      span: [number, number];
    }
  | {
      ok: false;
      reason: 'no_skin_interface' | 'fat_inconsistent';
      detail: string;
      span: [number, number];
    };

/** Mean gray of rows [y0, y1) over the columns x ± r, smoothed over 3 rows. */
function bandProfile(gray: GrayImage, x: number, r: number, y0: number, y1: number): Float64Array {
  const xa = Math.max(0, x - r);
  const xb = Math.min(gray.width, x + r + 1);
  const n = Math.max(0, y1 - y0);
  const raw = new Float64Array(n);
  for (let y = y0; y < y1; y++) {
    let s = 0;
    for (let xx = xa; xx < xb; xx++) s += gray.data[y * gray.width + xx]!;
    raw[y - y0] = s / (xb - xa);
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = (raw[Math.max(0, i - 1)]! + raw[i]! + raw[Math.min(n - 1, i + 1)]!) / 3;
  return out;
}

/** Sub-pixel position of the local maximum at i (a parabola through i − 1, i, i + 1). */
function peakAt(p: Float64Array, i: number): number {
  if (i <= 0 || i >= p.length - 1) return i;
  const a = p[i - 1]!;
  const c = p[i + 1]!;
  const d = a - 2 * p[i]! + c;
  return d < 0 ? i + (0.5 * (a - c)) / d : i;
}

/**
 * The ribeye's top row per column with notches filled: a morphological opening of the top row (a dip
 * of the top narrower than `2w + 1` columns is raised to its surroundings). The fat/muscle interface is
 * a smooth curve parallel to the skin; a narrow dip in the mask's top is the segmentation missing a
 * piece of the muscle, not the anatomy. Columns without mask (−1) stay −1.
 */
export function fillTopNotches(top: Int32Array, w: number): Float64Array {
  const n = top.length;
  const eroded = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let m = Number.POSITIVE_INFINITY;
    for (let j = Math.max(0, i - w); j <= Math.min(n - 1, i + w); j++)
      if (top[j]! >= 0) m = Math.min(m, top[j]!);
    eroded[i] = m;
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (top[i]! < 0) {
      out[i] = -1;
      continue;
    }
    let m = Number.NEGATIVE_INFINITY;
    for (let j = Math.max(0, i - w); j <= Math.min(n - 1, i + w); j++) m = Math.max(m, eroded[j]!);
    out[i] = Math.min(m, top[i]!);
  }
  return out;
}

/**
 * The skin/fat interface in a profile from the field's top down to the ribeye: the skin is the
 * brightest band (the shallowest near-saturated one); below its peak the profile falls to the fat.
 * The interface is the specular line at the bottom of the skin band: the deepest local maximum between
 * the skin's peak and the point where the profile falls through half height, or, when the skin and the
 * interface merge into one band, that half-height point. Null without a band standing 20 gray levels
 * above the fat.
 */
export function skinFatInterface(p: Float64Array): number | null {
  const band = findSkinBand(p);
  if (!band) return null;
  let line = -1;
  for (let i = band.peak + 1; i <= band.cross; i++) if (p[i]! >= p[i - 1]! && p[i]! >= p[i + 1]!) line = i;
  return line > 0 ? peakAt(p, line) : skinBandEnd(p, band);
}

function spanColumns(spans: ColumnSpans, position: { fromMedial: number; medialSide: 'left' | 'right' }) {
  const n = spans.x1 - spans.x0;
  const a = Math.max(0, position.fromMedial - FAT_SPAN_HALF);
  const b = Math.min(1, position.fromMedial + FAT_SPAN_HALF);
  const cols: number[] = [];
  for (let k = 0; k < FAT_SPAN_READINGS; k++) {
    const off = Math.round((a + ((b - a) * k) / (FAT_SPAN_READINGS - 1)) * (n - 1));
    cols.push(position.medialSide === 'left' ? spans.x0 + off : spans.x1 - 1 - off);
  }
  return { cols, span: [Math.round(a * 100) / 100, Math.round(b * 100) / 100] as [number, number] };
}

/**
 * Fat thickness read along a span of the ribeye around the grader's measuring point (± 10 % of its
 * visible length around the ¾ point `measureFatThickness` chose), not at one column: subcutaneous fat
 * runs parallel to the skin, so readings along the span agree, and their median is robust to one
 * column where the mask's top or the skin line was found wrong. Each reading is the skin/fat
 * interface (`skinFatInterface`) down to the ribeye's top with narrow notches filled
 * (`fillTopNotches`). Readings that disagree by more than a quarter of their median (interquartile
 * range) mean the landmarks are not where the anatomy says: no measurement, with that reason.
 */
export function measureFatAlongSpan(
  gray: GrayImage,
  mask: Mask,
  fat: FatThickness,
  field: CropBox,
): FatSpan | null {
  if (!fat.ok) return null;
  const spans = columnSpans(mask);
  if (!spans) return null;
  const n = spans.x1 - spans.x0;
  const top = fillTopNotches(spans.top, Math.max(2, Math.round(TOP_NOTCH_WIDTH * n)));
  const r = fat.position.bandHalfWidth;
  const topAt = (x: number) => {
    const v: number[] = [];
    for (let c = Math.max(spans.x0, x - r); c <= Math.min(spans.x1 - 1, x + r); c++) {
      if (top[c - spans.x0]! >= 0) v.push(top[c - spans.x0]!);
    }
    v.sort((p, q) => p - q);
    return v[Math.floor(v.length / 2)]!;
  };
  const { cols, span } = spanColumns(spans, fat.position);
  const readings: FatReading[] = [];
  for (const x of cols) {
    const topY = topAt(x);
    const edge = skinFatInterface(bandProfile(gray, x, r, field[1], Math.round(topY)));
    if (edge !== null)
      readings.push({ x, skinY: field[1] + edge, topY, thicknessPx: topY - field[1] - edge });
  }
  if (readings.length < Math.ceil(cols.length / 2)) {
    return {
      ok: false,
      reason: 'no_skin_interface',
      detail: `a skin/fat interface was found in ${readings.length} of ${cols.length} columns along ${span[0]}–${span[1]} of the ribeye`,
      span,
    };
  }
  readings.sort((p, q) => p.thicknessPx - q.thicknessPx);
  const median = readings[Math.floor(readings.length / 2)]!;
  const q = (f: number) =>
    readings[Math.min(readings.length - 1, Math.floor(f * readings.length))]!.thicknessPx;
  const spreadPx = q(0.75) - q(0.25);
  if (median.thicknessPx <= 0 || spreadPx > FAT_SPAN_MAX_SPREAD * median.thicknessPx) {
    return {
      ok: false,
      reason: 'fat_inconsistent',
      detail: `readings along ${span[0]}–${span[1]} of the ribeye disagree: interquartile range ${spreadPx.toFixed(1)} px for a median of ${median.thicknessPx.toFixed(1)} px (limit ${FAT_SPAN_MAX_SPREAD * 100} %)`,
      span,
    };
  }
  return { ok: true, thicknessPx: median.thicknessPx, spreadPx, median, readings: readings.length, span };
}
