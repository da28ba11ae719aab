// Test helper (excluded from the build): the report's figures as first written (main before the
// single-pass scanFigures, commit 0aea591), verbatim but renamed — the plain definitions, one list per
// day, device and group. report-figures-reference.test.ts checks that the code in use gives exactly
// the same output on many generated farms.
import type { ContemporaryGroup, GroupKey, GroupMember } from './contemporary-groups.ts';
import {
  type DayActivity,
  type DeviceActivity,
  gradeCounts,
  groupBy,
  isNumber,
  isUsable,
  mean,
  measureStats,
  type ScatterPoint,
} from './report-figures.ts';
import type { Grade, ReportScan } from './report-rows.ts';

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

type Animal = GroupMember['animal'];

const newer = (a: ReportScan, b: ReportScan): boolean =>
  (a.at ?? '') > (b.at ?? '') || ((a.at ?? '') === (b.at ?? '') && a.id > b.id);

/** The animal's latest usable scan among `scans` (any order), or undefined. */
function latestUsableScan(scans: readonly ReportScan[]): ReportScan | undefined {
  let best: ReportScan | undefined;
  for (const s of scans) if (isUsable(s) && (best === undefined || newer(s, best))) best = s;
  return best;
}

/** ratio = value ÷ mean × 100, to one decimal; null without a value or a positive mean. */
function ratio(value: number | null, groupMean: number | null): number | null {
  if (value === null || groupMean === null || !(groupMean > 0)) return null;
  return Math.round((value / groupMean) * 1000) / 10;
}

const byTag = (a: GroupMember, b: GroupMember) =>
  a.animal.tag_id.localeCompare(b.animal.tag_id, 'en', { numeric: true }) ||
  a.animal.id.localeCompare(b.animal.id);

/** A group of `animals` (with their scans in the period): each animal's value and its ratios. */
function contemporaryGroup(
  key: GroupKey,
  label: string,
  animals: readonly { animal: Animal; scans: readonly ReportScan[] }[],
): ContemporaryGroup {
  const values = animals.map(({ animal, scans }) => {
    const best = latestUsableScan(scans);
    return {
      animal,
      scans: scans.length,
      usable_scans: scans.filter(isUsable).length,
      scan: best ? { id: best.id, at: best.at, grade: best.grade as Grade } : null,
      rea: best && isNumber(best.rea_cm2) ? best.rea_cm2 : null,
      fat: best && isNumber(best.fat_thickness_mm) ? best.fat_thickness_mm : null,
    };
  });
  const reas = values.map((v) => v.rea).filter(isNumber);
  const fats = values.map((v) => v.fat).filter(isNumber);
  const reaMean = mean(reas);
  const fatMean = mean(fats);
  const members = values.map(
    (v): GroupMember => ({
      animal: v.animal,
      scans: v.scans,
      usable_scans: v.usable_scans,
      scan: v.scan,
      rea_cm2: v.rea,
      rea_ratio: ratio(v.rea, reaMean),
      fat_thickness_mm: v.fat,
      fat_ratio: ratio(v.fat, fatMean),
    }),
  );
  return {
    key,
    label,
    animals: members.length,
    rea_cm2: { measured: reas.length, mean: reaMean },
    fat_thickness_mm: { measured: fats.length, mean: fatMean },
    members: members.sort(byTag),
  };
}

/** Plain code-point order with nulls after every value. */
const nullsLast = (a: string | null, b: string | null): number =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

const animalOf = (s: ReportScan): Animal => ({
  id: s.animal_id!,
  tag_id: s.animal_tag_id ?? '',
  sex: s.animal_sex,
});

/**
 * The breed associations' contemporary groups of a farm's scans: animals of the farm scanned on the
 * same local day and of the same sex (an animal without a recorded sex is grouped with the others
 * without one). Scans not linked to an animal are in no group. Ordered by day, then sex.
 */
export function referenceGroupsByScanDateAndSex(scans: readonly ReportScan[]): ContemporaryGroup[] {
  const linked = scans.filter((s) => s.animal_id !== null);
  const groups = groupBy(linked, (s) => `${s.day ?? ''}\u0000${s.animal_sex ?? ''}`);
  const out = [...groups.values()].map((list) => {
    const { day, animal_sex: sex } = list[0]!;
    const animals = [...groupBy(list, (s) => s.animal_id).values()].map((own) => ({
      animal: animalOf(own[0]!),
      scans: own,
    }));
    return contemporaryGroup(
      { kind: 'scan_date_sex', scan_date: day, sex },
      `${day ?? 'unknown day'} · ${sex ?? 'sex not recorded'}`,
      animals,
    );
  });
  return out.sort((a, b) => {
    const [ka, kb] = [a.key, b.key] as { scan_date: string | null; sex: string | null }[];
    return nullsLast(ka!.scan_date, kb!.scan_date) || nullsLast(ka!.sex, kb!.sex);
  });
}

/**
 * An explicit contemporary group (phase 1's `contemporary_groups`): every animal of the group, with
 * its scans in the period (an animal without any is listed as not measured).
 */
export function referenceExplicitGroup(
  group: { id: string; name: string; animals: readonly { id: string; tag_id: string; sex: string | null }[] },
  scans: readonly ReportScan[],
): ContemporaryGroup {
  const byAnimal = groupBy(
    scans.filter((s) => s.animal_id !== null),
    (s) => s.animal_id!,
  );
  return contemporaryGroup(
    { kind: 'group', group_id: group.id, name: group.name },
    group.name,
    group.animals.map((a) => ({
      animal: { id: a.id, tag_id: a.tag_id, sex: a.sex },
      scans: byAnimal.get(a.id) ?? [],
    })),
  );
}
