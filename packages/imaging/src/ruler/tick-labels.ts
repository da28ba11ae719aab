import type { GrayImage } from '../gray-image.ts';

/** The number printed beside a tick, known only by how many characters it has ("5" 1, "10" 2, "2.5" 3). */
export type TickLabel = { index: number; characters: number };

export type LabelSearch = {
  plane: GrayImage;
  threshold: number;
  /** The ticks to look beside: index k and centre row. */
  ticks: { index: number; y: number }[];
  period: number;
  /** Columns the ruler's ticks occupy (labels are outside them). */
  ticksX0: number;
  ticksX1: number;
  /** Longest tick, px: labels sit within a few of its lengths. */
  tickLength: number;
  /** Columns a label must not enter (the scan area). */
  forbidden?: [number, number];
};

/** Rows above and below a tick's centre, and columns beyond the ruler, a label is looked for in. */
function window(s: Pick<LabelSearch, 'period' | 'tickLength'>): { half: number; reach: number } {
  return { half: Math.max(3, Math.floor(0.45 * s.period)), reach: Math.max(12, 4 * s.tickLength) };
}

/**
 * At most how many pixels readTickLabels reads for these ticks (both sides of each, its whole label
 * window): known before reading one, so a caller can refuse a search it cannot afford.
 */
export function labelSearchCost(s: Pick<LabelSearch, 'plane' | 'ticks' | 'period' | 'tickLength'>): number {
  const { half, reach } = window(s);
  return s.ticks.length * 2 * Math.min(reach, s.plane.width) * Math.min(2 * half + 1, s.plane.height);
}

/** The ink in a tick's label window on one side: window row r of column i (from the tick out) at i · rows + r. */
type InkWindow = { ink: Uint8Array; rows: number; top: number; columns: number };

function inkWindow(s: LabelSearch, y: number, side: 'left' | 'right'): InkWindow {
  const { data, width, height } = s.plane;
  const { half, reach } = window(s);
  const top = Math.max(0, Math.round(y) - half);
  const rows = Math.min(height - 1, Math.round(y) + half) - top + 1;
  const step = side === 'right' ? 1 : -1;
  const first = side === 'right' ? s.ticksX1 : s.ticksX0 - 1;
  const ink = new Uint8Array(reach * rows);
  let columns = 0;
  for (; columns < reach; columns++) {
    const x = first + columns * step;
    if (x < 0 || x >= width || (s.forbidden && x >= s.forbidden[0] && x < s.forbidden[1])) break;
    for (let r = 0; r < rows; r++)
      if (data[(top + r) * width + x]! >= s.threshold) ink[columns * rows + r] = 1;
  }
  return { ink, rows, top, columns };
}

/** First and last window row each column inks within rows [lo, hi] (first > last: none). */
function inkedRows(
  { ink, rows, columns }: InkWindow,
  lo: number,
  hi: number,
): { first: Int32Array; last: Int32Array } {
  const first = new Int32Array(columns).fill(hi + 1);
  const last = new Int32Array(columns).fill(lo - 1);
  for (let i = 0; i < columns; i++) {
    for (let r = lo; r <= hi; r++) {
      if (!ink[i * rows + r]) continue;
      if (first[i] === hi + 1) first[i] = r;
      last[i] = r;
    }
  }
  return { first, last };
}

/**
 * The label's rows: the block of rows its glyphs ink without a break that holds the tick's row (a label
 * is centred on its tick, within a third of the tick spacing); null when there is none. Ink only in rows
 * above or below it is something else: a marker beside the label, or — beside an unlabelled tick half
 * way between two labelled ones — the edges of their labels, which together would centre on this tick.
 */
function labelRows(w: InkWindow, y: number, period: number): [number, number] | null {
  const inkedColumns = Array.from(inkedRows(w, 0, w.rows - 1).first, (r) => r < w.rows);
  const inked = new Uint8Array(w.rows);
  for (const [a, b] of glyphRuns(inkedColumns))
    for (let i = a * w.rows; i < b * w.rows; i++) inked[i % w.rows]! |= w.ink[i]!;
  const tickRow = Math.round(y) - w.top;
  if (!inked[tickRow]) return null;
  let lo = tickRow;
  let hi = tickRow;
  while (lo > 0 && inked[lo - 1]) lo--;
  while (hi < w.rows - 1 && inked[hi + 1]) hi++;
  return Math.abs(w.top + (lo + hi) / 2 - y) > Math.max(2, period / 3) ? null : [lo, hi];
}

/**
 * Characters in the label beside one tick on one side (0: none): runs of columns inked in the label's
 * rows, as long as they share the first glyph's rows (digits are one height; a decimal point sits low in
 * them) — a mark beside it that reaches further up or down, a focus marker's triangle beside "5", ends it.
 */
function charactersBeside(s: LabelSearch, y: number, side: 'left' | 'right'): number {
  const w = inkWindow(s, y, side);
  const block = labelRows(w, y, s.period);
  if (!block) return 0;
  const [lo, hi] = block;
  const { first, last } = inkedRows(w, lo, hi);
  const glyphs = glyphRuns(Array.from(first, (r) => r <= hi));
  const span = ([from, to]: [number, number]): [number, number] => [
    Math.min(...first.subarray(from, to)),
    Math.max(...last.subarray(from, to)),
  ];
  if (glyphs.length === 0) return 0;
  const [firstTop, firstBottom] = span(glyphs[0]!);
  let characters = 1;
  for (; characters < glyphs.length; characters++) {
    const [a, b] = span(glyphs[characters]!);
    if (a < firstTop - 1 || b > firstBottom + 1) break;
  }
  return characters;
}

/**
 * Glyph runs (inked columns) from the tick outwards: the label must start near the tick, and a gap
 * wider than two glyph widths ends it (whatever lies beyond belongs to something else).
 */
function glyphRuns(inked: boolean[]): [number, number][] {
  const runs: [number, number][] = [];
  let i = 0;
  while (i < inked.length) {
    if (!inked[i]) {
      i++;
      continue;
    }
    const start = i;
    while (i < inked.length && inked[i]) i++;
    const glyph = Math.max(2, ...runs.map(([a, b]) => b - a), i - start);
    const gap = runs.length === 0 ? start : start - runs[runs.length - 1]![1];
    if (gap > 2 * glyph + 2) break;
    runs.push([start, i]);
  }
  return runs;
}

/**
 * Reads how many characters each given tick's label has, on whichever side of the ruler carries
 * labels beside most ticks (rulers put them left or right of the ticks). Ticks without a label are left out.
 */
export function readTickLabels(s: LabelSearch): TickLabel[] {
  let best: TickLabel[] = [];
  for (const side of ['left', 'right'] as const) {
    const labels = s.ticks
      .map((t) => ({ index: t.index, characters: charactersBeside(s, t.y, side) }))
      .filter((l) => l.characters > 0);
    if (labels.length > best.length) best = labels;
  }
  return best;
}

/** How many characters a depth label shows: integers as is, halves and tenths with one decimal. */
export function labelCharacters(valueCm: number): number {
  const rounded = Math.round(valueCm * 10) / 10;
  return Number.isInteger(rounded) ? String(rounded).length : rounded.toFixed(1).length;
}
