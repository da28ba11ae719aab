// The real-scan part of `pnpm eval:grading`: every reference scan and its shifted, flipped and cropped
// variants graded as deployed (no meta.json, the ruler if any), then the grade confusion (negatives must
// be R) and the ruler's spacing error where the scan's ruler truth is known. Returns the printed lines
// and the figures, so eval-grading-real.test.ts can hold the evaluation to them.
import { join } from 'node:path';
import { decodeRaster, toGray } from '@cti/imaging';
import { readReferenceScans, realScanVariants } from '@cti/models';
import type { Grader } from '../src/grading/grade-image.ts';

type Grade = 'A' | 'M' | 'R';

/**
 * Ruler truth of the real screens: hzau-201615 is a 20 cm depth setting whose ruler spans rows 40–716,
 * so 200 mm over 676 px (grade-image.test.ts checks the grader against the same figure). Its variants
 * are shifted, flipped and cropped, never scaled: the truth holds for each; one whose crop or shift
 * took the ruler away must say "no ruler" rather than guess.
 */
export const RULER_TRUTH_MM_PER_PX: Readonly<Record<string, number>> = { 'hzau-201615.png': 200 / 676 };

export type RealRow = {
  scan: string;
  variant: string;
  negative: boolean;
  grade: Grade;
  reasons: string[];
  confidence: number;
  ok: boolean;
  view: unknown;
  rea: number | null;
  fat: number | null;
  spacing: number | null;
  spacingSource: string;
  /** |read / true − 1| where the truth is known and the ruler was read; null otherwise. */
  spacingError: number | null;
};

export type RealEvaluation = {
  rows: RealRow[];
  /** Per scan (file): its truth and the grades over its variants. */
  confusion: Map<string, { negative: boolean } & Record<Grade, number>>;
  /** Ruler readings on scans with a known truth, and the variants of those scans without one. */
  spacingErrors: number[];
  rulerMisses: number;
  lines: string[];
};

const pct = (v: number, d = 1) => (Number.isFinite(v) ? `${(100 * v).toFixed(d)} %` : '—');
const median = (v: number[]) =>
  v.length === 0 ? Number.NaN : [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Grades every reference scan (its README's table: a box for ribeye views, none for negatives) and variant. */
export async function evaluateRealScans(grader: Grader, referenceDir: string): Promise<RealEvaluation> {
  const scans = (await readReferenceScans(referenceDir)).map((r) => ({
    file: r.file,
    box: r.box ?? ([0, 0, 1, 1] as [number, number, number, number]),
    negative: r.box === null,
  }));
  const rows: RealRow[] = [];
  for (const scan of [...scans.filter((s) => !s.negative), ...scans.filter((s) => s.negative)]) {
    const gray = toGray(await decodeRaster(join(referenceDir, scan.file)));
    for (const v of realScanVariants(gray, scan.box)) {
      const g = await grader.grade({ raster: { ...v.image, channels: 1 }, meta: null, calibration: null });
      const truth = RULER_TRUTH_MM_PER_PX[scan.file];
      const read = g.features.pixel_spacing_source === 'ruler' ? g.features.pixel_spacing_mm : null;
      rows.push({
        scan: scan.file,
        variant: v.name,
        negative: scan.negative,
        grade: g.grade,
        reasons: g.reasons,
        confidence: g.confidence,
        ok: scan.negative ? g.grade === 'R' : g.grade !== 'R',
        view: g.features.view_check,
        rea: g.features.rea_cm2,
        fat: g.features.fat_thickness_mm,
        spacing: g.features.pixel_spacing_mm,
        spacingSource: g.features.pixel_spacing_source,
        spacingError: truth !== undefined && read !== null ? Math.abs(read / truth - 1) : null,
      });
    }
  }
  const confusion: RealEvaluation['confusion'] = new Map();
  for (const r of rows) {
    const c = confusion.get(r.scan) ?? { negative: r.negative, A: 0, M: 0, R: 0 };
    c[r.grade]++;
    confusion.set(r.scan, c);
  }
  const withTruth = rows.filter((r) => RULER_TRUTH_MM_PER_PX[r.scan] !== undefined);
  const spacingErrors = withTruth.flatMap((r) => (r.spacingError === null ? [] : [r.spacingError]));
  const rulerMisses = withTruth.filter((r) => r.spacingError === null).length;
  return {
    rows,
    confusion,
    spacingErrors,
    rulerMisses,
    lines: realLines(rows, confusion, spacingErrors, rulerMisses),
  };
}

function realLines(
  rows: RealRow[],
  confusion: RealEvaluation['confusion'],
  spacingErrors: number[],
  rulerMisses: number,
): string[] {
  const out = [
    '| scan | variant | grade | reasons | view | REA cm² | fat mm | spacing | conf |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.scan} | ${r.variant} | ${r.grade}${r.ok ? '' : ' ✗'} | ${r.reasons.join(' ')} | ${(r.view as { ribeyeView: number }).ribeyeView} | ${r.rea ?? '—'} | ${r.fat ?? '—'} | ${r.spacing ?? '—'} ${r.spacingSource} | ${r.confidence} |`,
    );
  }
  out.push(
    '',
    'Real scans, grade confusion over all variants (rows: scan and truth, columns: grade; negatives must be R):',
    '| scan (truth) | A | M | R |',
    '|---|---|---|---|',
  );
  const total = { false: { A: 0, M: 0, R: 0 }, true: { A: 0, M: 0, R: 0 } };
  for (const [scan, c] of confusion) {
    out.push(`| ${scan} (${c.negative ? 'negative' : 'ribeye view'}) | ${c.A} | ${c.M} | ${c.R} |`);
    const t = total[`${c.negative}`];
    for (const g of ['A', 'M', 'R'] as const) t[g] += c[g];
  }
  out.push(
    `| all ribeye views | ${total.false.A} | ${total.false.M} | ${total.false.R} |`,
    `| all negatives | ${total.true.A} | ${total.true.M} | ${total.true.R} |`,
    '',
    "Real scans, pixel spacing read off the on-screen ruler (truth: the scanner's depth over the ruler's pixel length):",
    '| scan | variant | read mm/px | true mm/px | error |',
    '|---|---|---|---|---|',
  );
  for (const r of rows) {
    const truth = RULER_TRUTH_MM_PER_PX[r.scan];
    if (truth === undefined) continue;
    const read = r.spacingError === null ? `no ruler (${r.spacingSource})` : String(r.spacing);
    const err = r.spacingError === null ? '—' : pct(r.spacingError, 2);
    out.push(`| ${r.scan} | ${r.variant} | ${read} | ${truth.toFixed(5)} | ${err} |`);
  }
  const max = Math.max(...spacingErrors);
  out.push(
    `ruler spacing error on real screens, max / median: ${pct(max, 2)} / ${pct(median(spacingErrors), 2)} over ` +
      `${spacingErrors.length} readings, ${rulerMisses} without a reading (target ≤ 2 %: ` +
      `${spacingErrors.length > 0 && max <= 0.02 ? 'PASS' : 'FAIL'})`,
  );
  return out;
}
