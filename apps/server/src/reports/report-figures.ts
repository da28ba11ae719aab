import { histogramBins } from '../web/charts/histogram.tsx';
import type { ReportScan } from './report-rows.ts';

// The figures of a report, from its scans (pure, so they can be checked against hand-computed values).
//
// Measurement statistics (means, histograms, the scatter) use the *usable* scans only: those whose
// latest grading result is graded A or M. R (reject) results, results without a grade and scans not
// graded yet are left out of them but counted in the grade mix. A usable scan without a value is
// "not measured": counted, never averaged or binned as 0.

export const isUsable = (s: { grade: string | null }): boolean => s.grade === 'A' || s.grade === 'M';

export type GradeCounts = { A: number; M: number; R: number; no_grade: number; not_graded: number };

export function gradeCounts(scans: readonly ReportScan[]): GradeCounts {
  const counts = newGradeCounts();
  for (const s of scans) countGrade(counts, s);
  return counts;
}

const newGradeCounts = (): GradeCounts => ({ A: 0, M: 0, R: 0, no_grade: 0, not_graded: 0 });

/** Adds one scan to a grade mix. */
function countGrade(counts: GradeCounts, s: Pick<ReportScan, 'graded' | 'grade'>): void {
  if (!s.graded) counts.not_graded++;
  else if (s.grade === null) counts.no_grade++;
  else counts[s.grade]++;
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

/** The entry of `key` in `map`, made first (after the others: first-seen order) if missing. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  const found = map.get(key);
  if (found !== undefined) return found;
  const made = make();
  map.set(key, made);
  return made;
}

const STATUSES = ['uploaded', 'ingested', 'graded', 'error'] as const;

type DeviceTally = DeviceActivity & { days: Set<string> };

/**
 * Counts, distributions, scatter, grade mix per day and device activity of `scans` — in one pass over
 * the scans (a year of a farm is ~5,000 of them): per day and per device only running totals are
 * kept, never a list of the scans (report-figures-reference.test.ts compares it with the definitions).
 */
export function scanFigures(scans: readonly ReportScan[]) {
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<string, number>;
  const grades = newGradeCounts();
  const animals = new Set<string>();
  let notLinked = 0;
  const rea: (number | null)[] = [];
  const fat: (number | null)[] = [];
  const points: ScatterPoint[] = [];
  // First-seen order, as groupBy keeps it: the sorts below are stable.
  const byDay = new Map<string | null, DayActivity>();
  const byDevice = new Map<string, DeviceTally>();
  for (const s of scans) {
    byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    countGrade(grades, s);
    // animal_key, not animal_id: an animal that moved to a farm the reader cannot see is still one animal.
    if (s.animal_key === null) notLinked++;
    else animals.add(s.animal_key);
    if (isUsable(s)) {
      rea.push(s.rea_cm2);
      fat.push(s.fat_thickness_mm);
      if (isNumber(s.rea_cm2) && isNumber(s.fat_thickness_mm))
        points.push({
          scan_id: s.id,
          animal_id: s.animal_id,
          animal_tag_id: s.animal_tag_id,
          rea_cm2: s.rea_cm2,
          fat_thickness_mm: s.fat_thickness_mm,
        });
    }
    const day = entry(byDay, s.day, () => ({ day: s.day, scans: 0, grades: newGradeCounts() }));
    day.scans++;
    countGrade(day.grades, s);
    const device = entry(byDevice, s.device_id, () => newDeviceTally(s));
    device.scans++;
    countGrade(device.grades, s);
    if (s.day !== null) device.days.add(s.day);
    // The earliest and latest time in plain string order (UTC ISO: time order), as a sort would give.
    if (s.at !== null) {
      if (device.first_at === null || s.at < device.first_at) device.first_at = s.at;
      if (device.last_at === null || s.at > device.last_at) device.last_at = s.at;
    }
  }
  const devices = [...byDevice.values()].map(
    ({ days, ...d }): DeviceActivity => ({ ...d, days_active: days.size }),
  );
  devices.sort((a, b) => a.device_code.localeCompare(b.device_code));
  return {
    counts: {
      scans: scans.length,
      by_status: byStatus,
      grades,
      usable: rea.length,
      animals: animals.size,
      not_linked_to_animal: notLinked,
    },
    rea_cm2: measureStats(rea),
    fat_thickness_mm: measureStats(fat),
    scatter: { points, not_drawn: rea.length - points.length },
    by_day: [...byDay.values()].sort(({ day: a }, { day: b }) =>
      a === null ? 1 : b === null ? -1 : a.localeCompare(b),
    ),
    devices,
  };
}

const newDeviceTally = (s: ReportScan): DeviceTally => ({
  id: s.device_id,
  device_code: s.device_code,
  label: s.device_label,
  scans: 0,
  grades: newGradeCounts(),
  days_active: 0,
  first_at: null,
  last_at: null,
  days: new Set(),
});

export type ScanFigures = ReturnType<typeof scanFigures>;
export { groupBy, isNumber };
