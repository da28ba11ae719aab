import type { GrayImage, RasterImage } from '../gray-image.ts';
import {
  type LabelSearch,
  labelCharacters,
  labelSearchCost,
  readTickLabels,
  type TickLabel,
} from './tick-labels.ts';
import { type Box, findTickMarks, type TickMark } from './tick-marks.ts';
import { fitProgression, type Progression } from './tick-progression.ts';

/** How the length of one tick interval was decided. */
export type TickUnitSource =
  /** The labels' character counts ("0", "5", "10"…) fit exactly one tick unit. */
  | 'labels'
  /** No readable labels; every 5th (or 10th) tick is longer, the 1 cm / 5 cm convention. */
  | 'major_pattern';

export type RulerFound = {
  found: true;
  /** Millimetres per image pixel along the ruler (depth); square pixels give the lateral spacing too. */
  mmPerPixel: number;
  tickSpacingPx: number;
  tickUnitMm: number;
  unitSource: TickUnitSource;
  /** Ticks that fit the progression, and their RMS distance from it. */
  ticks: number;
  rmsPx: number;
  /** Row of the first fitted tick, and the columns the ruler's ticks occupy. */
  firstTickY: number;
  columns: [number, number];
  /** Characters of each label read, by tick index (e.g. "0:1 5:1 10:2"). */
  labels: string;
};

export type RulerNotFound = {
  found: false;
  reason: 'no_ruler' | 'ambiguous_tick_unit' | 'inconsistent_rulers';
  detail: string;
};

export type RulerReading = RulerFound | RulerNotFound;

export type RulerOptions = {
  /** The image area ([x0, y0, x1, y1]): rulers are looked for outside its columns, and the depth it
   * spans must be plausible (2–40 cm) for a reading to count. */
  scanArea?: Box;
};

/** Plausible B-mode display depths, mm: a reading implying a field outside them is no reading. */
const MIN_DEPTH_MM = 20;
const MAX_DEPTH_MM = 400;
/** Tick intervals rulers use, cm. */
const TICK_UNITS_CM = [0.1, 0.2, 0.25, 0.5, 1, 2];
/**
 * The progression search's budget, in pairs of marks within one aligned group (Σ n² over the groups):
 * it proposes ~36 periods per mark and scores each against every mark of the group, ~1 µs a pair.
 * Scanner screens and phantoms need a few thousand; a 1920×1080 noise image ~0.2 M. Noise or a crafted
 * image of tens of megapixels needs millions (6000×6000 noise 19 M, ~20 s), so past the budget the
 * image reads as no ruler, with the reason, instead of holding a grading worker that long.
 */
export const RULER_SEARCH_BUDGET = 500_000;
/**
 * The label reading's budget, in pixels read beside the ticks of every candidate column (both sides,
 * each tick's whole label window, see labelSearchCost): ~1.3 ns a pixel. Scanner screens and phantoms
 * read under a million. An image crafted with a thousand columns of long aligned ticks, each column a
 * plausible progression, would read ~40 G pixels at 6000×6000 (about a minute of a worker) — past
 * the budget it reads as no ruler, with the reason, before a label is read.
 */
export const RULER_LABEL_BUDGET = 20_000_000;

type Candidate = { ticks: TickMark[]; progression: Progression; byIndex: Map<number, TickMark> };

/** Groups of ticks sharing a left or a right end (±1 px): ruler ticks of all lengths are flush on one side. */
function alignedGroups(ticks: TickMark[]): TickMark[][] {
  const groups = new Map<string, TickMark[]>();
  for (const edge of ['x0', 'x1'] as const) {
    const sorted = [...ticks].sort((a, b) => a[edge] - b[edge]);
    // Two pointers over the sorted edges: for each distinct edge value v, the ticks within v ± 1.
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < sorted.length; i++) {
      const v = sorted[i]![edge];
      if (i > 0 && sorted[i - 1]![edge] === v) continue;
      while (sorted[lo]![edge] < v - 1) lo++;
      while (hi < sorted.length && sorted[hi]![edge] <= v + 1) hi++;
      if (hi - lo < 5) continue;
      const members = sorted.slice(lo, hi);
      groups.set(`${edge}:${members[0]![edge]}:${members.length}`, members);
    }
  }
  return [...groups.values()];
}

function candidateFrom(ticks: TickMark[]): Candidate | null {
  const progression = fitProgression(ticks.map((t) => t.y));
  if (!progression) return null;
  const byIndex = new Map<number, TickMark>();
  progression.members.forEach((y, i) => {
    byIndex.set(progression.indices[i]!, ticks.find((t) => t.y === y)!);
  });
  return { ticks, progression, byIndex };
}

/** Indices of the long ticks, when the ruler has two lengths (majors ≥ 1.3 × minors). */
function majorIndices(c: Candidate): number[] | null {
  const lengths = [...c.byIndex.values()].map((t) => t.x1 - t.x0);
  const short = Math.min(...lengths);
  const long = Math.max(...lengths);
  if (long < 1.3 * short) return null;
  const cut = (short + long) / 2;
  return [...c.byIndex.entries()].filter(([, t]) => t.x1 - t.x0 >= cut).map(([k]) => k);
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const stepOf = (indices: number[]) => indices.slice(1).reduce((g, k, i) => gcd(g, k - indices[i]!), 0);

/** A tick unit the labels fit, and how many of them it takes as misread. */
type LabelFit = { unit: number; misreads: number };

/**
 * Tick units (cm) under which the labels read as consecutive depths: label j shows v0 + j·Δ with the
 * right number of characters, where the first label read is the ruler's zero or — when ticks above
 * it carry no label (a zero hidden by the header or clipped) — the next one. One label in five may be
 * misread (text beside it); each fit says how many it takes as misread.
 */
function unitsFromLabels(labels: TickLabel[]): LabelFit[] {
  // Two labels ("0", "5") fit too many units to be evidence; three or more are.
  if (labels.length < 3) return [];
  const step = stepOf(labels.map((l) => l.index));
  const first = labels[0]!;
  const slots = (labels[labels.length - 1]!.index - first.index) / step + 1;
  // Labels come at a regular step; marks beside a few scattered ticks are not a ruler's labels.
  if (labels.length < 0.75 * slots) return [];
  const allowedMisreads = Math.floor(labels.length / 5);
  // A label on the ruler's topmost tick is its zero; only a ruler whose first ticks carry no label may
  // start counting at the next label.
  const starts = (unit: number) => (first.index === 0 ? [0] : [0, unit * step]);
  const misreads = (unit: number, v0: number) =>
    labels.filter((l) => labelCharacters(v0 + (l.index - first.index) * unit) !== l.characters).length;
  return TICK_UNITS_CM.map((unit) => ({
    unit,
    misreads: Math.min(...starts(unit).map((v0) => misreads(unit, v0))),
  })).filter((f) => f.misreads <= allowedMisreads);
}

/**
 * The units the labels settle on: the one that fits clearly best — at least two labels fewer taken as
 * misread than any other, and at most half as many (0…20 every 2nd tick of a 1 cm ruler fit 2 cm ticks
 * too, with "6" and "8" taken as misread "12" and "16"); else every fitting unit, which is then no
 * reading unless the long ticks settle it. One label alone decides nothing: marks in noise read as
 * labels "0 1 3 4 5" fit 1 cm exactly and 2 cm with "5" taken as "10".
 */
function settledUnits(fits: LabelFit[]): number[] {
  const [best, ...others] = [...fits].sort((a, b) => a.misreads - b.misreads);
  const clearly = (f: LabelFit) => f.misreads >= Math.max(2 * best!.misreads, best!.misreads + 2);
  if (best && others.every(clearly)) return [best.unit];
  return fits.map((f) => f.unit);
}

type UnitDecision = { unit: number; source: TickUnitSource; labels: TickLabel[] } | { reason: string };

/** A candidate with its long ticks and the label search beside them (labels sit at the long ticks). */
type LabelPlan = { c: Candidate; majors: number[] | null; search: LabelSearch };

function planLabels(c: Candidate, plane: GrayImage, threshold: number, options: RulerOptions): LabelPlan {
  const majors = majorIndices(c);
  const labelled = (majors ?? [...c.byIndex.keys()]).map((k) => ({
    index: k,
    y: c.progression.start + k * c.progression.period,
  }));
  const search: LabelSearch = {
    plane,
    threshold,
    ticks: labelled,
    period: c.progression.period,
    ticksX0: Math.min(...c.ticks.map((t) => t.x0)),
    ticksX1: Math.max(...c.ticks.map((t) => t.x1)),
    tickLength: Math.max(...c.ticks.map((t) => t.x1 - t.x0)),
    ...(options.scanArea
      ? { forbidden: [options.scanArea[0], options.scanArea[2]] as [number, number] }
      : {}),
  };
  return { c, majors, search };
}

function decideUnit({ c, majors, search }: LabelPlan, options: RulerOptions): UnitDecision {
  const labels = readTickLabels(search);
  const fieldPx = options.scanArea ? options.scanArea[3] - options.scanArea[1] : search.plane.height;
  const plausible = (unit: number) => {
    const depthMm = (fieldPx * unit * 10) / c.progression.period;
    return depthMm >= MIN_DEPTH_MM && depthMm <= MAX_DEPTH_MM;
  };
  const fromLabels = settledUnits(unitsFromLabels(labels).filter((f) => plausible(f.unit)));
  // Two long ticks always have a step; a pattern needs three (as labels do), else noise shows one.
  const majorStep = majors && majors.length >= 3 ? stepOf(majors) : 0;
  const conventional = (majorStep === 5 || majorStep === 10) && plausible(1);
  if (fromLabels.length === 1) return { unit: fromLabels[0]!, source: 'labels', labels };
  if (fromLabels.length > 1 && conventional && fromLabels.includes(1))
    return { unit: 1, source: 'labels', labels };
  if (fromLabels.length > 1) {
    return { reason: `labels fit tick units of ${fromLabels.join(', ')} cm alike` };
  }
  if (conventional && labels.length < 3) return { unit: 1, source: 'major_pattern', labels };
  return {
    reason:
      labels.length >= 3
        ? `labels (${labels.map((l) => l.characters).join(',')} characters) fit no tick unit`
        : `no readable labels and ${majorStep ? `long ticks every ${majorStep}` : 'no long ticks'}`,
  };
}

/**
 * The scan area whose margins readDepthRuler searches, or null when it searches every column (no scan
 * area, or one as wide as the image, which leaves no margin). With one, the reading depends on nothing
 * but the image's size and channels, this box and the pixels of the columns outside it (the ticks, their
 * ink threshold and the labels are all read there): what RulerMemo keys on.
 */
export function rulerMargins(image: { width: number }, { scanArea }: RulerOptions): Box | null {
  return scanArea && scanArea[2] - scanArea[0] < 0.95 * image.width ? scanArea : null;
}

/**
 * Reads the scanner's on-screen depth ruler: a column of evenly spaced ticks beside the image, longer
 * every few ticks, with depth labels. Returns millimetres per pixel, or `found: false` with the reason
 * rather than a guess: no regular tick column, a tick unit the labels do not settle, or two rulers
 * that disagree. Works on gray or RGB screens (coloured ticks count by their brightest channel).
 *
 * @example
 * const r = readDepthRuler(await decodeRaster('screen.png'), { scanArea: [159, 40, 761, 716] });
 * if (r.found) areaCm2 = areaPx * (r.mmPerPixel / 10) ** 2;
 */
export function readDepthRuler(image: RasterImage | GrayImage, options: RulerOptions = {}): RulerReading {
  const sa = rulerMargins(image, options);
  const margins = sa ? { scanArea: sa } : {};
  const { plane, threshold, ticks } = findTickMarks(image, margins);
  // A depth ruler spans most of the field; a short run of aligned marks is something else.
  const fieldPx = margins.scanArea ? margins.scanArea[3] - margins.scanArea[1] : plane.height;
  const groups = alignedGroups(ticks);
  const pairs = groups.reduce((sum, g) => sum + g.length ** 2, 0);
  if (pairs > RULER_SEARCH_BUDGET) {
    return {
      found: false,
      reason: 'no_ruler',
      detail: `${ticks.length} tick-like marks in ${groups.length} aligned columns, ${pairs} pairs to search: over the ruler search's budget of ${RULER_SEARCH_BUDGET} (no scanner screen is that busy)`,
    };
  }
  const candidates = groups
    .map(candidateFrom)
    .filter((c): c is Candidate => c !== null)
    .filter((c) => c.progression.period * c.progression.indices.at(-1)! >= 0.35 * fieldPx)
    .sort((a, b) => b.byIndex.size - a.byIndex.size || a.progression.rmsPx - b.progression.rmsPx);
  if (candidates.length === 0) {
    return {
      found: false,
      reason: 'no_ruler',
      detail: `no column of ≥ 5 evenly spaced ticks (${ticks.length} tick-like marks)`,
    };
  }
  const plans = candidates.map((c) => planLabels(c, plane, threshold, margins));
  const labelPixels = plans.reduce((sum, p) => sum + labelSearchCost(p.search), 0);
  if (labelPixels > RULER_LABEL_BUDGET) {
    return {
      found: false,
      reason: 'no_ruler',
      detail: `${candidates.length} columns of evenly spaced ticks, ${labelPixels} pixels to read for their labels: over the label search's budget of ${RULER_LABEL_BUDGET} (no scanner screen has that many rulers)`,
    };
  }
  const readings: RulerFound[] = [];
  const problems: string[] = [];
  for (const plan of plans) {
    const { c } = plan;
    const decision = decideUnit(plan, margins);
    if ('reason' in decision) {
      problems.push(decision.reason);
      continue;
    }
    const { period, start, rmsPx } = c.progression;
    readings.push({
      found: true,
      mmPerPixel: (decision.unit * 10) / period,
      tickSpacingPx: period,
      tickUnitMm: decision.unit * 10,
      unitSource: decision.source,
      ticks: c.byIndex.size,
      rmsPx,
      firstTickY: start,
      columns: [Math.min(...c.ticks.map((t) => t.x0)), Math.max(...c.ticks.map((t) => t.x1))],
      labels: decision.labels.map((l) => `${l.index}:${l.characters}`).join(' '),
    });
  }
  const [best, ...others] = readings;
  if (!best) return { found: false, reason: 'ambiguous_tick_unit', detail: problems[0] ?? '' };
  const rival = others.find(
    (r) => Math.abs(r.mmPerPixel / best.mmPerPixel - 1) > 0.02 && r.ticks >= 0.8 * best.ticks,
  );
  if (rival) {
    return {
      found: false,
      reason: 'inconsistent_rulers',
      detail: `rulers at columns ${best.columns.join('-')} and ${rival.columns.join('-')} read ${best.mmPerPixel.toFixed(4)} and ${rival.mmPerPixel.toFixed(4)} mm/px`,
    };
  }
  return best;
}
