import { histogramBins } from '../web/charts/histogram.tsx';
import type { ReportScan } from './report-rows.ts';

// The figures of a report, from its scans (pure, so they can be checked against hand-computed values).
//
// Measurement statistics (means, histograms, the scatter) use the *usable* scans only: those whose
// latest grading result is graded A or M. R (reject) results, results without a grade and scans not
// graded yet are left out of them but counted in the grade mix. A usable scan without a value is
// "not measured": counted, never averaged or binned as 0.

export const isUsable = (s: Pick<ReportScan, 'grade'>): boolean => s.grade === 'A' || s.grade === 'M';

export type GradeCounts = { A: number; M: number; R: number; no_grade: number; not_graded: number };

export function gradeCounts(scans: readonly ReportScan[]): GradeCounts {
  const counts: GradeCounts = { A: 0, M: 0, R: 0, no_grade: 0, not_graded: 0 };
  for (const s of scans) {
    if (!s.graded) counts.not_graded++;
    else if (s.grade === null) counts.no_grade++;
    else counts[s.grade]++;
  }
  return counts;
}

export type MeasureStats = {
  measured: number;
  not_measured: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null below two values. */
  sd: number | null;
  min: number | null;
  median: number | null;
  max: number | null;
  histogram: { bin_width: number | null; bins: { from: number; to: number; count: number }[] };
};

const isNumber = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Statistics of one measurement over usable scans (`values`: one entry per usable scan, null = missing). */
export function measureStats(values: readonly (number | null)[]): MeasureStats {
  const data = values.filter(isNumber).sort((a, b) => a - b);
  const m = mean(data);
  const sd =
    data.length < 2 || m === null
      ? null
      : Math.sqrt(data.reduce((acc, v) => acc + (v - m) ** 2, 0) / (data.length - 1));
  const mid = Math.floor(data.length / 2);
  const median = data.length === 0 ? null : data.length % 2 ? data[mid]! : (data[mid - 1]! + data[mid]!) / 2;
  // The same bins the page's histogram draws (web/charts/histogram.tsx).
  const { bins, step } = histogramBins(data);
  return {
    measured: data.length,
    not_measured: values.length - data.length,
    mean: m,
    sd,
    min: data[0] ?? null,
    median,
    max: data.at(-1) ?? null,
    histogram: {
      bin_width: bins.length ? step : null,
      bins: bins.map((b) => ({ from: b.x0, to: b.x1, count: b.count })),
    },
  };
}

export type ScatterPoint = {
  scan_id: string;
  animal_id: string | null;
  animal_tag_id: string | null;
  rea_cm2: number;
  fat_thickness_mm: number;
};

export type DayActivity = { day: string | null; scans: number; grades: GradeCounts };
export type DeviceActivity = {
  id: string;
  device_code: string;
  label: string | null;
  scans: number;
  grades: GradeCounts;
  days_active: number;
  first_at: string | null;
  last_at: string | null;
};

/** Groups `items` by `key`, keeping first-seen order. */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

const STATUSES = ['uploaded', 'ingested', 'graded', 'error'] as const;

/** Counts, distributions, scatter, grade mix per day and device activity of `scans`. */
export function scanFigures(scans: readonly ReportScan[]) {
  const usable = scans.filter(isUsable);
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<string, number>;
  for (const s of scans) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
  const withBoth = usable.filter((s) => isNumber(s.rea_cm2) && isNumber(s.fat_thickness_mm));
  const byDay = [...groupBy(scans, (s) => s.day)].sort(([a], [b]) =>
    a === null ? 1 : b === null ? -1 : a.localeCompare(b),
  );
  const byDevice = [...groupBy(scans, (s) => s.device_id)].map(([, list]) => deviceActivity(list));
  byDevice.sort((a, b) => a.device_code.localeCompare(b.device_code));
  return {
    counts: {
      scans: scans.length,
      by_status: byStatus,
      grades: gradeCounts(scans),
      usable: usable.length,
      animals: new Set(scans.map((s) => s.animal_id).filter((a) => a !== null)).size,
      not_linked_to_animal: scans.filter((s) => s.animal_id === null).length,
    },
    rea_cm2: measureStats(usable.map((s) => s.rea_cm2)),
    fat_thickness_mm: measureStats(usable.map((s) => s.fat_thickness_mm)),
    scatter: {
      points: withBoth.map(
        (s): ScatterPoint => ({
          scan_id: s.id,
          animal_id: s.animal_id,
          animal_tag_id: s.animal_tag_id,
          rea_cm2: s.rea_cm2!,
          fat_thickness_mm: s.fat_thickness_mm!,
        }),
      ),
      not_drawn: usable.length - withBoth.length,
    },
    by_day: byDay.map(([day, list]): DayActivity => ({ day, scans: list.length, grades: gradeCounts(list) })),
    devices: byDevice,
  };
}

function deviceActivity(list: readonly ReportScan[]): DeviceActivity {
  const first = list[0]!;
  const times = list
    .map((s) => s.at)
    .filter((t): t is string => t !== null)
    .sort();
  return {
    id: first.device_id,
    device_code: first.device_code,
    label: first.device_label,
    scans: list.length,
    grades: gradeCounts(list),
    days_active: new Set(list.map((s) => s.day).filter((d) => d !== null)).size,
    first_at: times[0] ?? null,
    last_at: times.at(-1) ?? null,
  };
}

export type ScanFigures = ReturnType<typeof scanFigures>;
export { groupBy, isNumber };
