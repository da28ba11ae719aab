import type { Grade } from './grade-rules.ts';

/**
 * How far a regrade's REA must move from the previous latest result before the farm is told again:
 * 2 cm² is the reporting resolution farmers read REA at (and under the ultrasound's own repeatability
 * of ≈ 3–6 cm² between two scans of one animal), so a model upgrade's sub-cm² wobble is not news.
 */
export const REGRADE_REA_TOLERANCE_CM2 = 2;
/** The same for fat thickness: 1 mm (the repeatability of a backfat reading is ≈ 1 mm). */
export const REGRADE_FAT_TOLERANCE_MM = 1;

/** What a farm user saw of a result: its grade and the two figures lists and reports show. */
export type ResultOutcome = { grade: Grade; reaCm2: number | null; fatMm: number | null };

/** Which notifications a result sends (ADR 0003 §7). */
export type ResultNews = { scanGraded: boolean; scanRejected: boolean; why: string };

function moved(before: number | null, after: number | null, tolerance: number): boolean {
  // A figure that appears or is withheld is a change whatever its size.
  if (before === null || after === null) return before !== after;
  return Math.abs(after - before) > tolerance;
}

/**
 * A first grading (an `ingest` job, or a regrade of a scan with no result yet) is always news:
 * `scan_graded`, and `scan_rejected` for grade R. A `regrade` job's result is news only when the
 * outcome changed for the user against the previous latest result: the grade changed, or REA moved by
 * more than REGRADE_REA_TOLERANCE_CM2, or fat by more than REGRADE_FAT_TOLERANCE_MM (a figure
 * appearing or withheld counts). It sends `scan_rejected` only when the grade became R from another
 * grade — an old scan still R, or any regrade that is not a new rejection, never tells the farm to
 * rescan the animal again.
 *
 * @example resultNews('regrade', { grade: 'M', reaCm2: 53.1, fatMm: 4.6 }, { grade: 'M', reaCm2: 53.4, fatMm: 4.6 }) // { scanGraded: false, … }
 */
export function resultNews(
  reason: 'ingest' | 'regrade',
  previous: ResultOutcome | null,
  next: ResultOutcome,
): ResultNews {
  if (reason === 'ingest' || previous === null)
    return { scanGraded: true, scanRejected: next.grade === 'R', why: 'first_result' };
  const changes: string[] = [];
  if (previous.grade !== next.grade) changes.push('grade');
  if (moved(previous.reaCm2, next.reaCm2, REGRADE_REA_TOLERANCE_CM2)) changes.push('rea_cm2');
  if (moved(previous.fatMm, next.fatMm, REGRADE_FAT_TOLERANCE_MM)) changes.push('fat_thickness_mm');
  if (changes.length === 0) return { scanGraded: false, scanRejected: false, why: 'regrade_unchanged' };
  return {
    scanGraded: true,
    scanRejected: next.grade === 'R' && previous.grade !== 'R',
    why: `regrade_changed:${changes.join(',')}`,
  };
}
