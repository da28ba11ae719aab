import {
  type DayActivity,
  type DeviceActivity,
  gradeCounts,
  groupBy,
  isNumber,
  isUsable,
  measureStats,
  type ScatterPoint,
} from './report-figures.ts';
import type { ReportScan } from './report-rows.ts';

const STATUSES = ['uploaded', 'ingested', 'graded', 'error'] as const;

export function referenceScanFigures(scans: readonly ReportScan[]) {
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
      animals: new Set(scans.map((s) => s.animal_key).filter((a) => a !== null)).size,
      not_linked_to_animal: scans.filter((s) => s.animal_key === null).length,
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
