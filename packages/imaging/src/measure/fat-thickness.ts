import type { GrayImage } from '../gray-image.ts';
import { type BinaryMask, type Box, type ColumnSpans, columnSpans } from './mask-geometry.ts';

export type MedialSide = 'left' | 'right';

/** Where along the ribeye fat is measured, and how that place was found. */
export type FatPosition = {
  /** Column measured (centre of the averaged band) and its half-width, px. */
  x: number;
  bandHalfWidth: number;
  /** Share of the ribeye's visible length from its medial (chine) end: 0.75, as graders measure,
   * or nearer the middle where a convex probe's fan leaves the skin at 0.75 outside the image. */
  fromMedial: number;
  /** The blunter end of the lens is taken as medial (the longissimus is thickest towards the spine). */
  medialSide: MedialSide;
  /** The lens touches the field's side: the ¾ point is of its visible part. */
  cutOff: boolean;
};

export type FatThickness =
  | {
      ok: true;
      /** Skin/fat interface to the ribeye's top, px along the column (median of five columns). */
      thicknessPx: number;
      /** Range of the middle three of the five columns' readings, px: large when landmarks disagree. */
      spreadPx: number;
      skinInnerY: number;
      ribeyeTopY: number;
      position: FatPosition;
    }
  | {
      ok: false;
      reason: 'empty_mask' | 'skin_not_in_view' | 'no_skin_interface';
      detail: string;
      position: FatPosition | null;
    };

export type FatThicknessOptions = {
  /** The image field [x0, y0, x1, y1]: the search starts at its top, its sides mark a cut-off lens. */
  scanArea?: Box;
  /** Share of the visible length from the medial end (default 0.75). */
  fromMedial?: number;
};

/** Mean column height over the outer quarter of the lens on one side (a blunt end keeps its height). */
function endFullness(spans: ColumnSpans, side: MedialSide): number {
  const n = spans.top.length;
  const q = Math.max(1, Math.floor(n / 4));
  let sum = 0;
  for (let i = 0; i < q; i++) {
    const c = side === 'left' ? i : n - 1 - i;
    sum += spans.bottom[c]! - spans.top[c]!;
  }
  return sum / q;
}

type Lens = { medialSide: MedialSide; cutOff: boolean; length: number; columnAt(fromMedial: number): number };

function orientLens(spans: ColumnSpans, field: Box): Lens {
  const cutLeft = spans.x0 <= field[0];
  const cutRight = spans.x1 >= field[2];
  let medialSide: MedialSide;
  if (cutLeft !== cutRight) {
    // One end is outside the field: judge the intact end alone. Its outer quarter keeps more than
    // 60 % of the lens' height when it is the blunt (medial) end, as a symmetric lens would.
    const intact: MedialSide = cutLeft ? 'right' : 'left';
    let max = 0;
    for (let i = 0; i < spans.top.length; i++) max = Math.max(max, spans.bottom[i]! - spans.top[i]!);
    const blunt = endFullness(spans, intact) >= 0.6 * max;
    medialSide = blunt ? intact : intact === 'left' ? 'right' : 'left';
  } else {
    medialSide = endFullness(spans, 'left') >= endFullness(spans, 'right') ? 'left' : 'right';
  }
  const length = spans.x1 - spans.x0;
  return {
    medialSide,
    cutOff: cutLeft || cutRight,
    length,
    columnAt(fromMedial) {
      const offset = Math.round(fromMedial * (length - 1));
      return medialSide === 'left' ? spans.x0 + offset : spans.x1 - 1 - offset;
    },
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Mean gray of rows [y0, y1) over the columns x ± r, lightly smoothed (3 rows). */
function rowProfile(gray: GrayImage, x: number, r: number, y0: number, y1: number): Float64Array {
  const xa = Math.max(0, x - r);
  const xb = Math.min(gray.width, x + r + 1);
  const raw = new Float64Array(Math.max(0, y1 - y0));
  for (let y = y0; y < y1; y++) {
    let s = 0;
    for (let xx = xa; xx < xb; xx++) s += gray.data[y * gray.width + xx]!;
    raw[y - y0] = s / (xb - xa);
  }
  return raw.map((_, i) => (raw[Math.max(0, i - 1)]! + raw[i]! + raw[Math.min(raw.length - 1, i + 1)]!) / 3);
}

/** The skin's bright band in a profile from the field's top down: see `findSkinBand`. */
export type SkinBand = {
  /** Index of the skin's peak (the shallowest sample near the profile's maximum, then uphill). */
  peak: number;
  /** Half height between the peak and the darkest sample below it (the fat). */
  half: number;
  /** Last index at or above `half` below the peak: the band ends between `cross` and `cross + 1`. */
  cross: number;
};

/**
 * The skin in a profile running from the field's top down to the ribeye: the brightest band (the
 * shallowest of several near saturation), from its peak down to where the profile falls through half
 * height above the darkest fat below it. Null when there is no band standing at least 20 gray levels
 * above the fat, or when the profile never falls through half height.
 */
export function findSkinBand(p: Float64Array): SkinBand | null {
  const n = p.length;
  if (n < 4) return null;
  let max = 0;
  for (const v of p) max = Math.max(max, v);
  let peak = 0;
  while (p[peak]! < 0.97 * max) peak++;
  while (peak + 1 < n && p[peak + 1]! >= p[peak]!) peak++;
  if (peak >= n - 2) return null;
  let floor = p[peak]!;
  for (let i = peak; i < n; i++) floor = Math.min(floor, p[i]!);
  if (p[peak]! - floor < 20) return null;
  const half = floor + 0.5 * (p[peak]! - floor);
  for (let i = peak; i + 1 < n; i++) if (p[i + 1]! < half) return { peak, half, cross: i };
  return null;
}

/** Where the profile falls through the band's half height, interpolated between `cross` and `cross + 1`. */
export function skinBandEnd(p: Float64Array, band: SkinBand): number {
  return band.cross + (p[band.cross]! - band.half) / (p[band.cross]! - p[band.cross + 1]!);
}

/** The skin/fat interface as the lower half-height edge of the skin band (`findSkinBand`). */
function skinInnerEdge(p: Float64Array): number | null {
  const band = findSkinBand(p);
  return band ? skinBandEnd(p, band) : null;
}

/**
 * Subcutaneous fat thickness over the ribeye, as graders measure it: at ¾ of the ribeye's length from
 * its medial (chine) end, from the skin/fat interface down to the top of the ribeye. Pure image
 * analysis on a gray image and the ribeye mask; multiply `thicknessPx` by the pixel spacing for mm.
 *
 * @example
 * const f = measureFatThickness(gray, mask, { scanArea });
 * const mm = f.ok ? f.thicknessPx * spacingMm : null;
 */
export function measureFatThickness(
  gray: GrayImage,
  mask: BinaryMask,
  { scanArea, fromMedial = 0.75 }: FatThicknessOptions = {},
): FatThickness {
  const spans = columnSpans(mask);
  if (!spans) return { ok: false, reason: 'empty_mask', detail: 'the mask is empty', position: null };
  const field: Box = scanArea ?? [0, 0, gray.width, gray.height];
  const lens = orientLens(spans, field);
  const r = Math.max(2, Math.round(0.012 * lens.length));
  const fieldTop = field[1];
  const topAt = (x: number) => {
    const tops: number[] = [];
    for (let c = Math.max(spans.x0, x - r); c <= Math.min(spans.x1 - 1, x + r); c++) {
      const t = spans.top[c - spans.x0]!;
      if (t >= 0) tops.push(t);
    }
    return tops.length > 0 ? median(tops) : spans.bbox[1];
  };
  // A convex probe's fan: a column far from the centre enters the image through the fan's slanted
  // side, below its top arc, so the skin above the ribeye there is outside the image. The side is a
  // radial line (its top edge falls by more than a pixel per pixel: the half-angle is under 45°), the
  // probe's face a shallow arc; where the column enters through the side, the nearest column towards
  // the middle (down to half way) whose skin is in view is measured.
  const entryRow = (x: number) => {
    const p = rowProfile(gray, Math.min(gray.width - 1, Math.max(0, x)), 1, fieldTop, field[3]);
    const i = p.findIndex((v) => v > 8);
    return i < 0 ? Number.POSITIVE_INFINITY : i;
  };
  const d = Math.max(3, Math.round(0.01 * (field[2] - field[0])));
  const inView = (x: number, profile: Float64Array) => {
    if (profile.findIndex((v) => v > 8) < 0) return false;
    const slope = Math.abs(entryRow(x + d) - entryRow(x - d)) / (2 * d);
    return Number.isFinite(slope) && slope <= 1;
  };
  let fraction = fromMedial;
  let x = lens.columnAt(fraction);
  let ribeyeTopY = topAt(x);
  let profile = rowProfile(gray, x, r, fieldTop, ribeyeTopY);
  while (!inView(x, profile) && fraction > 0.5 + 1e-9) {
    fraction = Math.round((fraction - 0.01) * 100) / 100;
    x = lens.columnAt(fraction);
    ribeyeTopY = topAt(x);
    profile = rowProfile(gray, x, r, fieldTop, ribeyeTopY);
  }
  const position: FatPosition = {
    x,
    bandHalfWidth: r,
    fromMedial: fraction,
    medialSide: lens.medialSide,
    cutOff: lens.cutOff,
  };
  if (!inView(x, profile)) {
    return {
      ok: false,
      reason: 'skin_not_in_view',
      detail: `the skin above the ribeye is outside the image from ${fromMedial} to half way along it (a convex probe's fan)`,
      position,
    };
  }
  // Five neighbouring columns measured apart: the fat layers run parallel to the skin, so their
  // median is the reading and their spread says whether the landmarks were found consistently.
  const readings: { thickness: number; skin: number; top: number }[] = [];
  for (const k of [-2, -1, 0, 1, 2]) {
    const xk = Math.min(spans.x1 - 1, Math.max(spans.x0, x + k * r));
    const top = topAt(xk);
    const edge = skinInnerEdge(rowProfile(gray, xk, r, fieldTop, top));
    if (edge !== null) readings.push({ thickness: top - fieldTop - edge, skin: fieldTop + edge, top });
  }
  if (readings.length < 3) {
    return {
      ok: false,
      reason: 'no_skin_interface',
      detail: `no bright skin band above the ribeye around column ${x} (rows ${fieldTop}-${ribeyeTopY})`,
      position,
    };
  }
  readings.sort((p, q) => p.thickness - q.thickness);
  const mid = readings[Math.floor(readings.length / 2)]!;
  const inner = readings.slice(1, -1).map((q) => q.thickness);
  return {
    ok: true,
    thicknessPx: mid.thickness,
    spreadPx: Math.max(...inner) - Math.min(...inner),
    skinInnerY: mid.skin,
    ribeyeTopY: mid.top,
    position,
  };
}
