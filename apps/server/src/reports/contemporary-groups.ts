import { groupBy, isNumber, isUsable, mean } from './report-figures.ts';
import type { Grade, ReportScan } from './report-rows.ts';

// Per-animal ratios within a contemporary group, as the centralized ultrasound labs (CUP Lab) report
// them: ratio = the animal's value ÷ the group's mean of those values × 100 (100 = the group average).
//
// The animal's value: an animal may have several scans in the group's period. Its value is taken from
// ONE scan — its latest usable scan: the most recently captured (ties by scan id) of its scans whose
// latest grading result is graded A or M. Both REA and fat thickness come from that scan; if that scan
// lacks one of them, that measurement is "not measured" for the animal (no ratio) — it is never filled
// in from an older scan or counted as 0. The group mean is over the animals that have the value.

export type GroupKey =
  | { kind: 'scan_date_sex'; scan_date: string | null; sex: string | null }
  | { kind: 'group'; group_id: string; name: string };

export type GroupMember = {
  /**
   * The animal. `on_other_farm`: it lives on another farm now than the one its scans were taken on
   * (it moved): still counted here, with the scans it left. Its `id` and `tag_id` are null for a
   * reader who may not see its new farm — the figures are the same for every reader, the identity not.
   */
  animal: { id: string | null; tag_id: string | null; sex: string | null; on_other_farm: boolean };
  /** Scans of the animal in the group's period, and how many of them are usable (A/M). */
  scans: number;
  usable_scans: number;
  /** The scan whose values stand for the animal; null when it has no usable scan. */
  scan: { id: string; at: string | null; grade: Grade } | null;
  rea_cm2: number | null;
  rea_ratio: number | null;
  fat_thickness_mm: number | null;
  fat_ratio: number | null;
};

export type ContemporaryGroup = {
  key: GroupKey;
  label: string;
  animals: number;
  rea_cm2: { measured: number; mean: number | null };
  fat_thickness_mm: { measured: number; mean: number | null };
  members: GroupMember[];
};

type Animal = GroupMember['animal'];
/** An animal of a group with its scans; `key` identifies it whoever reads (default: its id). */
type AnimalScans = {
  animal: Omit<Animal, 'on_other_farm'> & { on_other_farm?: boolean };
  key?: string;
  scans: readonly ReportScan[];
};

const newer = (a: ReportScan, b: ReportScan): boolean =>
  (a.at ?? '') > (b.at ?? '') || ((a.at ?? '') === (b.at ?? '') && a.id > b.id);

/** The animal's latest usable scan among `scans` (any order), or undefined. */
export function latestUsableScan(scans: readonly ReportScan[]): ReportScan | undefined {
  let best: ReportScan | undefined;
  for (const s of scans) if (isUsable(s) && (best === undefined || newer(s, best))) best = s;
  return best;
}

/**
 * ratio = value ÷ mean × 100, rounded once to `decimals` (one in JSON; the pages print whole numbers
 * from the value and the unrounded mean, never from the JSON's rounded ratio: 99.46 → 99, not 99.5 → 100);
 * null without a value or a positive mean.
 */
export function ratio(value: number | null, groupMean: number | null, decimals = 1): number | null {
  if (value === null || groupMean === null || !(groupMean > 0)) return null;
  const scale = 10 ** decimals;
  return Math.round((value / groupMean) * 100 * scale) / scale;
}

// `a.localeCompare(b, locales, options)` is `new Intl.Collator(locales, options).compare(a, b)`
// (ECMA-402): the same order, without building a collator for every comparison of a farm's animals.
const tagOrder = new Intl.Collator('en', { numeric: true });
const defaultOrder = new Intl.Collator();

const keyOf = (a: AnimalScans): string => a.key ?? a.animal.id ?? '';

/**
 * The members' order, the same for every reader: the farm's own animals by tag (numeric), then id;
 * then the animals now on another farm (whose tag some readers may not see) by their key.
 */
function memberOrder(a: AnimalScans, b: AnimalScans): number {
  const away = Number(a.animal.on_other_farm ?? false) - Number(b.animal.on_other_farm ?? false);
  if (away !== 0) return away;
  const byTag = a.animal.on_other_farm ? 0 : tagOrder.compare(a.animal.tag_id ?? '', b.animal.tag_id ?? '');
  return byTag || defaultOrder.compare(keyOf(a), keyOf(b));
}

/** A group of `animals` (with their scans in the period): each animal's value and its ratios. */
export function contemporaryGroup(
  key: GroupKey,
  label: string,
  animals: readonly AnimalScans[],
): ContemporaryGroup {
  const values = [...animals].sort(memberOrder).map(({ animal, scans }) => {
    const best = latestUsableScan(scans);
    return {
      animal: { ...animal, on_other_farm: animal.on_other_farm ?? false },
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
    members,
  };
}

/** Plain code-point order with nulls after every value. */
const nullsLast = (a: string | null, b: string | null): number =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

const animalOf = (s: ReportScan): AnimalScans['animal'] => ({
  id: s.animal_id,
  tag_id: s.animal_tag_id,
  sex: s.animal_sex,
  on_other_farm: s.animal_on_other_farm,
});

/**
 * The breed associations' contemporary groups of a farm's scans: animals scanned on the farm on the
 * same local day and of the same sex (an animal without a recorded sex is grouped with the others
 * without one). An animal that moved to another farm since is still in its group with the scans taken
 * here (the reader may not see who it is, but every reader gets the same groups and ratios). Scans not
 * linked to an animal are in no group. Ordered by day, then sex.
 */
export function groupsByScanDateAndSex(scans: readonly ReportScan[]): ContemporaryGroup[] {
  const linked = scans.filter((s) => s.animal_key !== null);
  const groups = groupBy(linked, (s) => `${s.day ?? ''}\u0000${s.animal_sex ?? ''}`);
  const out = [...groups.values()].map((list) => {
    const { day, animal_sex: sex } = list[0]!;
    const animals = [...groupBy(list, (s) => s.animal_key!)].map(([key, own]) => ({
      key,
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
export function explicitGroup(
  group: { id: string; name: string; animals: readonly { id: string; tag_id: string; sex: string | null }[] },
  scans: readonly ReportScan[],
): ContemporaryGroup {
  const byAnimal = groupBy(
    scans.filter((s) => s.animal_key !== null),
    (s) => s.animal_key!,
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
