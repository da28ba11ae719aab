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

/** Characters in the label beside one tick on one side (0: none), counted as runs of inked columns. */
function charactersBeside(s: LabelSearch, y: number, side: 'left' | 'right'): number {
  const { data, width, height } = s.plane;
  const { half, reach } = window(s);
  const top = Math.max(0, Math.round(y) - half);
  const bottom = Math.min(height - 1, Math.round(y) + half);
  const rows = bottom - top + 1;
  const step = side === 'right' ? 1 : -1;
  const first = side === 'right' ? s.ticksX1 : s.ticksX0 - 1;
  // Which window rows each column inks (column i at i · rows), so the label's rows are known once its
  // columns are.
  const ink = new Uint8Array(reach * rows);
  const inkedColumns: boolean[] = [];
  for (let i = 0; i < reach; i++) {
    const x = first + i * step;
    if (x < 0 || x >= width || (s.forbidden && x >= s.forbidden[0] && x < s.forbidden[1])) break;
    let any = false;
    for (let yy = top; yy <= bottom; yy++) {
      if (data[yy * width + x]! < s.threshold) continue;
      ink[i * rows + yy - top] = 1;
      any = true;
    }
    inkedColumns.push(any);
  }
  const runs = glyphRuns(inkedColumns);
  if (runs.length === 0) return 0;
  // The label's rows: the block of rows its glyphs ink without a break that holds the tick's row (a label
  // is centred on its tick, within a third of the tick spacing). Ink only in rows above or below it is something else: a marker beside the
  // label, or — beside an unlabelled tick half way between two labelled ones — the edges of their labels,
  // which together would centre on this tick. The glyphs are then counted in those rows alone.
  const inked = new Uint8Array(rows);
  for (const [a, b] of runs) for (let i = a * rows; i < b * rows; i++) inked[i % rows]! |= ink[i]!;
  const tickRow = Math.round(y) - top;
  if (!inked[tickRow]) return 0;
  let blockTop = tickRow;
  let blockBottom = tickRow;
  while (blockTop > 0 && inked[blockTop - 1]) blockTop--;
  while (blockBottom < rows - 1 && inked[blockBottom + 1]) blockBottom++;
  if (Math.abs(top + (blockTop + blockBottom) / 2 - y) > Math.max(2, s.period / 3)) return 0;
  const inBlock = inkedColumns.map((_, i) => {
    for (let r = blockTop; r <= blockBottom; r++) if (ink[i * rows + r]) return true;
    return false;
  });
  return glyphRuns(inBlock).length;
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
