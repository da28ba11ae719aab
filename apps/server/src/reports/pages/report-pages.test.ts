import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../../test-api-client.ts';
import { useTestApp } from '../../test-helpers.ts';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { elements } from '../../web/test-svg.ts';
import { type ReportSeed, seedReportFarm } from '../test-report-seed.ts';

// The reports pages rendered by the app (no browser): the figures of the JSON report in the page, the
// filter form's errors beside the fields, another farm's page as a 404, and the printable day report
// without any site navigation. The browser test (reports.browser.test.ts) prints it and downloads CSV.

let seed: ReportSeed;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      seed = await seedReportFarm(db.sql);
    },
  },
);

async function page(email: string | null, path: string) {
  const client = apiClient(ctx.server.app);
  if (email) assert.equal((await client.signIn(email, TEST_PASSWORD)).status, 200);
  return client.request('GET', path);
}

describe('GET /reports', () => {
  test('the form only, until a farm or group is chosen; signed out → sign-in and back', async () => {
    const res = await page('farmer@example.com', '/reports');
    assert.equal(res.status, 200);
    assert.match(res.text, /<select id="field-farm_id" name="farm_id"/);
    assert.match(res.text, /<option value="[^"]+">Report Farm<\/option>/);
    assert.doesNotMatch(res.text, /Other Farm/, 'only farms the farmer may see are offered');
    assert.match(res.text, /Choose a farm or a group/);
    const anonymous = await page(null, `/reports?farm_id=${seed.farm}`);
    assert.equal(anonymous.status, 303);
    assert.equal(
      anonymous.headers.get('location'),
      `/sign-in?next=${encodeURIComponent(`/reports?farm_id=${seed.farm}`)}`,
    );
  });

  test('a farm day: the figures of the JSON report, charts, ratios, downloads and the print link', async () => {
    const q = `farm_id=${seed.farm}&from=2025-09-09&to=2025-09-09`;
    const res = await page('farmer@example.com', `/reports?${q}`);
    assert.equal(res.status, 200);
    const html = res.text;
    assert.match(html, /<dt>Scans<\/dt><dd>12<\/dd>/);
    assert.match(html, /<dt>Usable \(A \+ M\): in the measurements<\/dt><dd>8<\/dd>/);
    assert.match(html, /75\.1 cm²/, 'REA mean 601 / 8');
    // The REA histogram bins 65–70: 1, 70–75: 2, 75–80: 3, 80–85: 2 (as in the JSON report).
    const figure = html.slice(
      html.indexOf('id="report-rea"'),
      html.indexOf('</figure>', html.indexOf('id="report-rea"')),
    );
    assert.deepEqual(
      elements(figure, 'rect', 'bar').map((b) => Number(b.attrs['data-count'])),
      [1, 2, 3, 2],
    );
    assert.match(html, /2025-09-09 · steer/);
    // S1 (tag 101): REA 84, ratio 106 (105.9 rounded), linked to its animal and to the scan used.
    assert.match(html, new RegExp(`<a href="/animals/${seed.animals.S1}">101</a>`));
    assert.match(html, new RegExp(`<a href="/scans/${seed.scans.a2}">`));
    assert.match(html, /84\.0 cm²<\/span><\/td><td data-label="REA ratio" class="num">106<\/td>/);
    // S3's fat thickness is missing: a dash and the reason, never 0.
    assert.match(
      html,
      /<td data-label="Fat mm" class="num"><span class="measure measure-missing">.*?not measured/,
    );
    const exportQuery = `farm_id=${seed.farm}&amp;from=2025-09-09T04%3A00%3A00.000Z&amp;to=2025-09-10T04%3A00%3A00.000Z`;
    assert.ok(
      html.includes(`href="/api/v1/exports/scans.csv?${exportQuery}&amp;bom=true"`),
      'CSV link with the UTC bounds, asking for the BOM (Excel)',
    );
    assert.ok(html.includes(`href="/api/v1/exports/scans.geojson?${exportQuery}"`));
    assert.ok(html.includes(`href="/reports/farms/${seed.farm}/print?day=2025-09-09"`));
  });

  test('a group report names the group and has one table of its animals', async () => {
    const res = await page(
      'tech@example.com',
      `/reports?group_id=${seed.group}&from=2025-09-09&to=2025-09-09`,
    );
    assert.equal(res.status, 200);
    assert.match(res.text, /Spring calves — Report Farm/);
    assert.match(res.text, /The animals of this group\./);
    assert.equal([...res.text.matchAll(/class="report-group"/g)].length, 1);
    // Its printable day report is the group's, not the farm's (review r9 F7).
    assert.ok(res.text.includes(`href="/reports/groups/${seed.group}/print?day=2025-09-09"`));
    assert.ok(!res.text.includes(`/reports/farms/${seed.farm}/print`));
  });

  test('bad filters: 422 with the error beside the field; another farm or group: a 404 page', async () => {
    const bad = await page(
      'farmer@example.com',
      `/reports?farm_id=${seed.farm}&from=2025-09-10&to=2025-09-09`,
    );
    assert.equal(bad.status, 422);
    assert.match(bad.text, /id="field-to-error"[^>]*>.*To must not be before From\./s);
    const lastDay = await page('farmer@example.com', `/reports?farm_id=${seed.farm}&to=9999-12-31`);
    assert.equal(lastDay.status, 422);
    assert.match(lastDay.text, /id="field-to-error"[^>]*>.*from 0100-01-01 to 9999-12-30/s);
    const notUuid = await page('farmer@example.com', '/reports?farm_id=abc');
    assert.equal(notUuid.status, 422);
    assert.match(notUuid.text, /Choose a farm from the list\./);
    const mismatch = await page('admin@example.com', `/reports?farm_id=${seed.other}&group_id=${seed.group}`);
    assert.equal(mismatch.status, 422);
    assert.match(mismatch.text, /This group is on another farm\./);
    for (const q of [
      `farm_id=${seed.other}`,
      `group_id=${seed.otherGroup}`,
      'farm_id=00000000-0000-4000-8000-000000000000',
    ]) {
      const res = await page('farmer@example.com', `/reports?${q}`);
      assert.equal(res.status, 404, q);
      assert.match(res.text, /<title>Not found · CTI<\/title>/);
      assert.match(res.text, /There is nothing here, or it is not yours to see\./);
      assert.doesNotMatch(res.text, /Other Farm/);
    }
  });
});

describe('GET /reports/farms/{id}/print', () => {
  test('one farm, one day: a document without site navigation, SVG charts, ratios, every scan', async () => {
    const res = await page('farmer@example.com', `/reports/farms/${seed.farm}/print?day=2025-09-09`);
    assert.equal(res.status, 200);
    const html = res.text;
    assert.match(html, /<title>Ultrasound scan report — Report Farm — 2025-09-09<\/title>/);
    assert.doesNotMatch(
      html,
      /class="site-header"|class="site-nav"|aria-label="Main"/,
      'no navigation at all',
    );
    assert.doesNotMatch(html, /<script>|style="/, 'CSP-safe: no inline script or style');
    // REA and fat histograms, the scatter, the grade mix per device (one day: no per-day mix).
    assert.deepEqual(
      [...html.matchAll(/<figure class="chart" id="([\w-]+)"/g)].map((m) => m[1]),
      ['print-rea', 'print-fat', 'print-scatter', 'print-mix-device'],
    );
    assert.equal([...html.matchAll(/<svg class="chart-svg"[^>]*role="img"/g)].length, 4);
    assert.match(
      html,
      /<caption>Animals of 2025-09-09 · steer, with ratios to the group mean \(100 = average\)<\/caption>/,
    );
    assert.match(html, /<caption>Scans \(12\)<\/caption>/);
    // The late-evening scan is listed in the farm's time (23:30 EDT), not in UTC.
    assert.match(html, /<time datetime="2025-09-10T03:30:00Z"[^>]*>23:30 EDT<\/time>/);
  });

  test('another farm → 404 page; a bad or missing day → 422 naming the parameter', async () => {
    assert.equal(
      (await page('farmer@example.com', `/reports/farms/${seed.other}/print?day=2025-09-09`)).status,
      404,
    );
    assert.equal(
      (await page('othertech@example.com', `/reports/farms/${seed.farm}/print?day=2025-09-09`)).status,
      404,
    );
    assert.equal(
      (await page('farmer@example.com', '/reports/farms/not-a-farm/print?day=2025-09-09')).status,
      404,
    );
    for (const q of ['', '?day=2025-02-30', '?day=tomorrow']) {
      const res = await page('farmer@example.com', `/reports/farms/${seed.farm}/print${q}`);
      assert.equal(res.status, 422, q);
      assert.match(res.text, /The day parameter must be a day written YYYY-MM-DD/);
    }
    const lastDay = await page('farmer@example.com', `/reports/farms/${seed.farm}/print?day=9999-12-31`);
    assert.equal(lastDay.status, 422);
    assert.match(lastDay.text, /The day parameter must be a day from 0100-01-01 to 9999-12-30/);
    const empty = await page('admin@example.com', `/reports/farms/${seed.farm}/print?day=2025-01-01`);
    assert.equal(empty.status, 200);
    assert.match(empty.text, /No scans on this farm on 2025-01-01\./);
  });
});

describe('GET /reports/groups/{id}/print', () => {
  const ratios = (html: string) =>
    [...html.matchAll(/data-label="REA ratio" class="num">([^<]*)</g)].map((m) => m[1]);

  test("one group, one day: the group's animals and ratios, not the farm's scan-day + sex groups", async () => {
    const res = await page('tech@example.com', `/reports/groups/${seed.group}/print?day=2025-09-09`);
    assert.equal(res.status, 200);
    const html = res.text;
    assert.match(html, /<title>Ultrasound scan report — Spring calves \(Report Farm\) — 2025-09-09<\/title>/);
    assert.doesNotMatch(html, /class="site-header"|class="site-nav"|aria-label="Main"/);
    assert.match(html, /Contemporary group <strong>Spring calves<\/strong> \(4 animals\)/);
    assert.match(
      html,
      new RegExp(`href="/reports\\?group_id=${seed.group}&amp;from=2025-09-09&amp;to=2025-09-09"`),
    );
    // One table: the group (101, 102, 201 and 401, not scanned), with the group report's ratios —
    // S1 (101) is 110 here (84 ÷ 76.67), 106 in the farm's steer group.
    assert.equal([...html.matchAll(/class="report-group"/g)].length, 1);
    assert.match(
      html,
      /<caption>Animals of Spring calves, with ratios to the group mean \(100 = average\)<\/caption>/,
    );
    assert.deepEqual(ratios(html), ['110', '99', '91', '—']);
    const farm = await page('tech@example.com', `/reports/farms/${seed.farm}/print?day=2025-09-09`);
    assert.deepEqual(ratios(farm.text), ['100', '—', '106', '96', '98', '100']);
    // Only the group's scans of the day: S1 a1 a2 a3, S2 b1 b2, H1 d1.
    assert.match(html, /<caption>Scans \(6\)<\/caption>/);
    assert.doesNotMatch(html, /2025-09-09 · steer/);
  });

  test('the group report’s access: another farm’s group or a missing one → 404 page; a bad day → 422', async () => {
    for (const [email, group] of [
      ['farmer@example.com', seed.otherGroup],
      ['othertech@example.com', seed.group],
      ['farmer@example.com', '00000000-0000-4000-8000-000000000000'],
      ['farmer@example.com', 'not-a-group'],
    ] as const) {
      const res = await page(email, `/reports/groups/${group}/print?day=2025-09-09`);
      assert.equal(res.status, 404, `${email} ${group}`);
      assert.doesNotMatch(res.text, /Theirs|Spring calves/);
    }
    for (const q of ['', '?day=2025-02-30']) {
      const res = await page('farmer@example.com', `/reports/groups/${seed.group}/print${q}`);
      assert.equal(res.status, 422, q);
      assert.match(res.text, /The day parameter must be a day written YYYY-MM-DD/);
    }
    const empty = await page('admin@example.com', `/reports/groups/${seed.group}/print?day=2025-01-01`);
    assert.equal(empty.status, 200);
    assert.match(empty.text, /No scans of this group on 2025-01-01\./);
    const anonymous = await page(null, `/reports/groups/${seed.group}/print?day=2025-09-09`);
    assert.equal(anonymous.status, 303);
  });
});
