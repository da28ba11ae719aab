import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../../test-api-client.ts';
import { useTestApp } from '../../test-helpers.ts';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { elements } from '../../web/test-svg.ts';
import { contemporaryGroup } from '../contemporary-groups.ts';
import type { ReportScan } from '../report-rows.ts';
import { type ReportSeed, seedReportFarm, toronto } from '../test-report-seed.ts';
import { GroupTable } from './report-sections.tsx';

// What the pages print must agree with the figures they stand for (review r9): whole-number ratios
// rounded once, grade-mix bars and the device table that add up alike, and an animal's chart that
// draws only measurements (A/M), as the reports count them.

const usableScan = (id: string, rea: number, fat: number): ReportScan =>
  ({ id, at: toronto('10:00'), grade: 'A', rea_cm2: rea, fat_thickness_mm: fat }) as ReportScan;

describe('GroupTable', () => {
  test('whole-number ratios are rounded once, from the value and the group mean (99.46 → 99, not 99.5 → 100)', () => {
    const group = contemporaryGroup(
      { kind: 'scan_date_sex', scan_date: '2025-09-09', sex: 'steer' },
      'steers',
      [
        { animal: { id: 'x', tag_id: 'X', sex: 'steer' }, scans: [usableScan('sx', 49.73, 4.973)] },
        { animal: { id: 'y', tag_id: 'Y', sex: 'steer' }, scans: [usableScan('sy', 50.27, 5.027)] },
      ],
    );
    // The JSON keeps one decimal: 99.46 → 99.5, 100.54 → 100.5.
    assert.deepEqual(
      group.members.map((m) => [m.rea_ratio, m.fat_ratio]),
      [
        [99.5, 99.5],
        [100.5, 100.5],
      ],
    );
    const html = String(GroupTable({ group, timeZone: 'America/Toronto', id: 'g' }));
    const cells = (label: string) =>
      [...html.matchAll(new RegExp(`<td data-label="${label}" class="num">([^<]*)</td>`, 'g'))].map(
        (m) => m[1],
      );
    assert.deepEqual(cells('REA ratio'), ['99', '101']);
    assert.deepEqual(cells('Fat ratio'), ['99', '101']);
  });
});

let seed: ReportSeed;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      seed = await seedReportFarm(db.sql);
    },
  },
);

async function farmerPage(path: string) {
  const client = apiClient(ctx.server.app);
  assert.equal((await client.signIn('farmer@example.com', TEST_PASSWORD)).status, 200);
  const res = await client.request('GET', path);
  assert.equal(res.status, 200, path);
  return res.text;
}

describe('the pages print what the figures say', () => {
  test("a device's grade-mix bar counts its quality-graded scans; its table row adds up to its scans", async () => {
    const html = await farmerPage(`/reports?farm_id=${seed.farm}&from=2025-09-09&to=2025-09-09`);
    // dev-west: A d1, f1, g1; R e1; h1 not graded yet; i1 graded without a quality grade → 6 scans.
    const chart = html.slice(html.indexOf('id="report-mix-device"'));
    assert.match(
      elements(chart, 'desc')[0]!.text,
      /dev-west: 4 quality-graded scans, A usable 3 \(75 %\), M marginal 0 \(0 %\), R reject 1 \(25 %\)\./,
    );
    const table = html.slice(html.indexOf('id="report-devices"'));
    const row = table.slice(table.indexOf('dev-west'), table.indexOf('</tr>', table.indexOf('dev-west')));
    const cell = (label: string) =>
      new RegExp(`<td data-label="${label}" class="num[^"]*">(\\d+)</td>`).exec(row)?.[1];
    assert.deepEqual(['Scans', 'A', 'M', 'R', 'No quality grade', 'Not graded yet'].map(cell), [
      '6',
      '3',
      '0',
      '1',
      '1',
      '1',
    ]);
  });

  test("an animal's chart draws its A and M results only; an R result is a marker saying it was rejected", async () => {
    // Tag 101: A 80 (10:00), M 84 (11:00), latest result R 90 (12:00), A 88 the next day at 00:30.
    const html = await farmerPage(`/animals/${seed.animals.S1}`);
    const chart = html.slice(html.indexOf('id="animal-chart"'));
    const panels = chart.split('<g class="panel"').slice(1);
    assert.equal(elements(panels[0]!, 'circle', 'point').length, 3, 'three REA points: 80, 84, 88');
    assert.match(
      elements(chart, 'desc')[0]!.text,
      /Ribeye area \(cm²\): 2025-09-09 80, 2025-09-09 84, 2025-09-10 88; 1 scan without a value\./,
    );
    assert.doesNotMatch(elements(chart, 'desc')[0]!.text, /\b90\b/);
    assert.ok(
      elements(panels[0]!, 'title').some((t) =>
        /12:00 EDT: no value \(R reject: image too dark\)/.test(t.text),
      ),
      'the R scan is shown as a scan without a value, and why',
    );
  });
});
