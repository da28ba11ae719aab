import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ContemporaryGroup,
  contemporaryGroup,
  explicitGroup,
  groupsByScanDateAndSex,
  latestUsableScan,
  ratio,
} from './contemporary-groups.ts';
import { gradeCounts, measureStats, scanFigures } from './report-figures.ts';
import type { ReportScan } from './report-rows.ts';

// The pure parts of a report: ratios, "the animal's value", group definitions, statistics — on small
// hand-made lists (report-api.test.ts checks the same through the database).

let n = 0;
const scan = (o: Partial<ReportScan>): ReportScan => ({
  id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  capture_id: `cap_${n}`,
  at: '2025-09-09T14:00:00.000Z',
  day: '2025-09-09',
  status: 'graded',
  device_id: 'd1',
  device_code: 'dev-1',
  device_label: null,
  animal_key: o.animal_id ?? null,
  animal_on_other_farm: false,
  animal_id: null,
  animal_tag_id: null,
  animal_sex: null,
  graded: true,
  grade: 'A',
  rea_cm2: 80,
  fat_thickness_mm: 6,
  ...o,
});

describe('ratios within a group', () => {
  test('value ÷ mean × 100 to one decimal; none without a value or a positive mean', () => {
    assert.equal(ratio(84, 238 / 3), 105.9);
    assert.equal(ratio(76, 76), 100);
    assert.equal(ratio(1, 3), 33.3);
    assert.equal(ratio(2, 3), 66.7);
    assert.equal(ratio(null, 70), null);
    assert.equal(ratio(70, null), null);
    assert.equal(ratio(0, 0), null);
  });

  test("the animal's value: its latest usable scan (A/M), ties by scan id; R and ungraded never", () => {
    const older = scan({ at: '2025-09-09T10:00:00.000Z', rea_cm2: 70 });
    const rejected = scan({ at: '2025-09-09T12:00:00.000Z', grade: 'R', rea_cm2: 99 });
    const ungraded = scan({ at: '2025-09-09T13:00:00.000Z', graded: false, grade: null, rea_cm2: null });
    const noGrade = scan({ at: '2025-09-09T13:30:00.000Z', grade: null, rea_cm2: 98 });
    const marginal = scan({ at: '2025-09-09T11:00:00.000Z', grade: 'M', rea_cm2: 75 });
    assert.equal(latestUsableScan([rejected, older, ungraded, noGrade, marginal])?.id, marginal.id);
    const tieA = scan({ at: '2025-09-09T11:00:00.000Z' });
    const tieB = scan({ at: '2025-09-09T11:00:00.000Z' });
    assert.equal(latestUsableScan([tieB, marginal, tieA])?.id, [marginal.id, tieA.id, tieB.id].sort().at(-1));
    assert.equal(latestUsableScan([rejected, ungraded]), undefined);
  });

  test('both values come from that one scan: a missing fat thickness is not filled from an older scan', () => {
    const animal = { id: 'a1', tag_id: '1', sex: 'steer' };
    const g = contemporaryGroup({ kind: 'group', group_id: 'g', name: 'G' }, 'G', [
      {
        animal,
        scans: [
          scan({ at: '2025-09-09T10:00:00.000Z', rea_cm2: 70, fat_thickness_mm: 5 }),
          scan({ at: '2025-09-09T11:00:00.000Z', rea_cm2: 80, fat_thickness_mm: null }),
        ],
      },
      {
        animal: { id: 'a2', tag_id: '2', sex: 'steer' },
        scans: [scan({ rea_cm2: 60, fat_thickness_mm: 4 })],
      },
    ]);
    assert.deepEqual(g.rea_cm2, { measured: 2, mean: 70 });
    assert.deepEqual(g.fat_thickness_mm, { measured: 1, mean: 4 });
    assert.deepEqual(
      g.members.map((m) => [m.animal.tag_id, m.rea_cm2, m.rea_ratio, m.fat_thickness_mm, m.fat_ratio]),
      [
        ['1', 80, 114.3, null, null],
        ['2', 60, 85.7, 4, 100],
      ],
    );
  });
});

describe('group definitions', () => {
  test('scan day + sex: an animal scanned on two days is in two groups; unlinked scans in none', () => {
    const a = { animal_id: 'a', animal_tag_id: '10', animal_sex: 'heifer' };
    const b = { animal_id: 'b', animal_tag_id: '9', animal_sex: 'heifer' };
    const c = { animal_id: 'c', animal_tag_id: '11', animal_sex: 'bull' };
    const u = { animal_id: 'u', animal_tag_id: '12', animal_sex: null };
    const groups = groupsByScanDateAndSex([
      scan({ ...a, day: '2025-09-10' }),
      scan({ ...a, day: '2025-09-09' }),
      scan({ ...b, day: '2025-09-09' }),
      scan({ ...c, day: '2025-09-09' }),
      scan({ ...u, day: '2025-09-09' }),
      scan({ day: '2025-09-09' }),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.label, g.members.map((m) => m.animal.tag_id)]),
      [
        ['2025-09-09 · bull', ['11']],
        ['2025-09-09 · heifer', ['9', '10']],
        ['2025-09-09 · sex not recorded', ['12']],
        ['2025-09-10 · heifer', ['10']],
      ],
      'by day, then sex (none last); animals by tag in numeric order',
    );
  });

  test('an animal that moved to another farm: in its group for every reader, only its identity hidden', () => {
    const here = [
      { animal_id: 'b', animal_tag_id: '9', animal_sex: 'steer' },
      { animal_id: 'c', animal_tag_id: '11', animal_sex: 'steer' },
    ];
    const moved = { animal_key: 'a', animal_sex: 'steer', animal_on_other_farm: true };
    // The same scans read by someone who may see the animal's new farm, and by someone who may not.
    const seen = { ...moved, animal_id: 'a', animal_tag_id: '1' };
    const hidden = { ...moved, animal_id: null, animal_tag_id: null };
    const taken = [
      scan({ ...here[0], rea_cm2: 70 }),
      scan({ rea_cm2: 90 }),
      scan({ ...here[1], rea_cm2: 80 }),
    ];
    const scans = (m: Partial<ReportScan>) => taken.map((s, i) => (i === 1 ? { ...s, ...m } : s));
    const [forAdmin] = groupsByScanDateAndSex(scans(seen));
    const [forFarmer] = groupsByScanDateAndSex(scans(hidden));
    assert.deepEqual(
      forAdmin!.members.map((m) => [m.animal.tag_id, m.animal.on_other_farm, m.rea_cm2, m.rea_ratio]),
      [
        ['9', false, 70, 87.5],
        ['11', false, 80, 100],
        ['1', true, 90, 112.5],
      ],
      'ratios over the three animals; the moved one last, whatever its tag',
    );
    const figures = (g: ContemporaryGroup) => ({
      ...g,
      members: g.members.map(({ animal: { id: _, tag_id: __, ...rest }, ...m }) => ({ ...m, animal: rest })),
    });
    assert.deepEqual(figures(forFarmer!), figures(forAdmin!));
    assert.deepEqual(forFarmer!.members[2]!.animal, {
      id: null,
      tag_id: null,
      sex: 'steer',
      on_other_farm: true,
    });
    assert.deepEqual(scanFigures(scans(hidden)).counts, scanFigures(scans(seen)).counts);
    assert.equal(scanFigures(scans(hidden)).counts.animals, 3);
  });

  test('an explicit group lists every member, scanned or not, and ignores scans of other animals', () => {
    const g = explicitGroup(
      {
        id: 'g',
        name: 'Spring',
        animals: [
          { id: 'a', tag_id: '1', sex: 'steer' },
          { id: 'b', tag_id: '2', sex: 'steer' },
        ],
      },
      [scan({ animal_id: 'a', rea_cm2: 90 }), scan({ animal_id: 'x', rea_cm2: 10 })],
    );
    assert.deepEqual(
      g.members.map((m) => [m.animal.tag_id, m.scans, m.rea_ratio]),
      [
        ['1', 1, 100],
        ['2', 0, null],
      ],
    );
  });
});

describe('statistics', () => {
  test('missing values are counted, never 0; SD needs two values', () => {
    const s = measureStats([null, 10, null]);
    assert.deepEqual(
      [s.measured, s.not_measured, s.mean, s.sd, s.min, s.median, s.max],
      [1, 2, 10, null, 10, 10, 10],
    );
    assert.deepEqual(measureStats([]).histogram, { bin_width: null, bins: [] });
    const t = measureStats([2, 4, 4, 4, 5, 5, 7, 9]);
    assert.equal(t.mean, 5);
    assert.equal(t.sd, Math.sqrt(32 / 7));
    assert.equal(t.median, 4.5);
  });

  test('a year of a large farm (300,000 values) does not overflow the stack', () => {
    const values = Array.from({ length: 300_000 }, (_, i) => 50 + (i % 50));
    const s = measureStats(values);
    assert.deepEqual([s.min, s.max, s.measured], [50, 99, 300_000]);
    assert.equal(
      s.histogram.bins.reduce((a, b) => a + b.count, 0),
      300_000,
    );
  });

  test('grade mix: A/M/R, a result without grade, not graded', () => {
    assert.deepEqual(
      gradeCounts([
        scan({ grade: 'A' }),
        scan({ grade: 'R' }),
        scan({ grade: null }),
        scan({ graded: false, grade: null }),
        scan({ grade: 'M' }),
      ]),
      { A: 1, M: 1, R: 1, no_grade: 1, not_graded: 1 },
    );
  });
});
