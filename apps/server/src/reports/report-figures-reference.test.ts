import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ContemporaryGroup, explicitGroup, groupsByScanDateAndSex } from './contemporary-groups.ts';
import { scanFigures } from './report-figures.ts';
import type { Grade, ReportScan } from './report-rows.ts';
import { referenceScanFigures } from './test-report-figures-reference.ts';

// The figures in use (one pass over the scans) against the plain definitions they replaced
// (test-report-figures-reference.ts), on generated farms: every figure must be the same — values, order
// of lists and of keys (the JSON text) — including the odd cases a real farm may have. The contemporary
// groups compare tags with shared collators instead of a localeCompare per comparison: their members
// must come in exactly the order that localeCompare gives.

/** A small seeded PRNG (mulberry32): the same farms on every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEVICE_CODES = ['dev-b', 'Dev-a', 'dev-10', 'dev-9', 'éleveur-1', 'dev-b'];
const TAGS = ['10', '9', '0009', 'A-2', 'a-10', '101', '', 'Ä1'];
const SEXES = ['steer', 'heifer', 'bull', null];
const STATUSES = ['uploaded', 'ingested', 'graded', 'error', 'archived'];
const VALUES = [null, Number.NaN, Number.POSITIVE_INFINITY, 0, -0, 54.3, 80, 80, 101.25, 6.1, 7];

function generatedFarm(seed: number): { scans: ReportScan[]; animals: ReportAnimal[] } {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const uuid = (prefix: string, i: number) => `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const devices = Array.from({ length: 1 + Math.floor(rnd() * 5) }, (_, i) => ({
    id: uuid('dddddddd', i),
    code: pick(DEVICE_CODES),
    label: rnd() < 0.5 ? null : `label ${i}`,
  }));
  const animals = Array.from({ length: Math.floor(rnd() * 40) }, (_, i) => ({
    id: uuid(rnd() < 0.5 ? 'aaaaaaaa' : 'AAAAAAAA', i),
    tag_id: pick(TAGS),
    sex: pick(SEXES),
    moved: rnd() < 0.1,
  }));
  const count = Math.floor(rnd() * (rnd() < 0.2 ? 1500 : 150));
  const scans = Array.from({ length: count }, (_, i): ReportScan => {
    const device = pick(devices);
    const animal = animals.length > 0 && rnd() < 0.7 ? pick(animals) : null;
    const at =
      rnd() < 0.03
        ? null
        : new Date(
            Date.UTC(2025, 0, 1) + Math.floor(rnd() * 20) * 86_400_000 + Math.floor(rnd() * 4) * 3_600_000,
          ).toISOString();
    const graded = rnd() < 0.85;
    const grade: Grade | null = graded ? pick<Grade | null>(['A', 'A', 'M', 'R', null]) : null;
    return {
      id: uuid(rnd() < 0.5 ? '5ca95ca9' : '0ca95ca9', Math.floor(rnd() * 1e6)),
      capture_id: `cap_${i}`,
      at,
      day: at === null ? null : at.slice(0, 10),
      status: pick(STATUSES),
      device_id: device.id,
      device_code: device.code,
      device_label: device.label,
      // Some animals moved to a farm the reader cannot see: counted by their key, identity hidden.
      animal_key: animal?.id ?? null,
      animal_on_other_farm: animal?.moved ?? false,
      animal_id: animal && !animal.moved ? animal.id : null,
      animal_tag_id: animal && !animal.moved ? animal.tag_id : null,
      animal_sex: animal ? animal.sex : null,
      graded,
      grade,
      rea_cm2: pick(VALUES),
      fat_thickness_mm: pick(VALUES),
    };
  });
  return { scans, animals };
}

type ReportAnimal = { id: string; tag_id: string; sex: string | null; moved: boolean };

test('the figures equal their definitions on 300 generated farms (values, list order, key order)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const { scans, animals } = generatedFarm(seed);
    // An explicit group is one farm's animals: none of them moved away.
    const members = animals.filter((a) => !a.moved);
    const group = { id: 'gggggggg-0000-4000-8000-000000000001', name: 'Pen 4', animals: members };
    const actual = scanFigures(scans);
    const expected = referenceScanFigures(scans);
    assert.deepStrictEqual(actual, expected, `farm ${seed}: figures`);
    assert.equal(JSON.stringify(actual), JSON.stringify(expected), `farm ${seed}: figures (JSON)`);
    const groups = [...groupsByScanDateAndSex(scans), explicitGroup(group, scans)];
    for (const g of groups) assertLocaleCompareOrder(g, `farm ${seed}: group ${g.key.kind}`);
  }
});

/**
 * The farm's own members by tag (numeric, 'en'), then id — as `String.prototype.localeCompare` orders
 * them; the animals now on another farm (identity hidden here) after them.
 */
function assertLocaleCompareOrder(group: ContemporaryGroup, what: string) {
  const own = group.members.filter((m) => !m.animal.on_other_farm);
  assert.ok(
    group.members.slice(own.length).every((m) => m.animal.on_other_farm && m.animal.id === null),
    `${what}: moved animals last, unnamed`,
  );
  const ids = own.map((m) => m.animal.id!);
  const expected = [...own]
    .sort(
      (a, b) =>
        a.animal.tag_id!.localeCompare(b.animal.tag_id!, 'en', { numeric: true }) ||
        a.animal.id!.localeCompare(b.animal.id!),
    )
    .map((m) => m.animal.id!);
  assert.deepStrictEqual(ids, expected, what);
}

test('no scans: the same empty figures', () => {
  assert.deepStrictEqual(scanFigures([]), referenceScanFigures([]));
  assert.deepStrictEqual(groupsByScanDateAndSex([]), []);
});
