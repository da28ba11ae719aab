import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Browser, Page } from 'playwright-core';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { startDashboardBrowser } from '../test-browser.ts';
import { type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';

// Every page with a table on a tablet (portrait and landscape iPad, an 800 px Android tablet) and on the
// screens between a phone and a tablet (641–767 px: a phone on its side, a small tablet), in Chromium
// against the real app and database: nothing scrolls sideways. From 768 px the tables stay tables (the
// scans list kept all nine columns and put grade and REA out of view; the fleet kept eleven); below
// 768 px they are cards, as on a phone (as tables they needed up to 720 px in a 607 px box).
// Realistic names, not worst cases: a farm word of twelve letters, a device with a backlog and a note.
// Lower-priority columns are hidden on a tablet and still there on a desktop.

let w: DashboardWorld;
let db: TestDatabase;
let dashboard: Awaited<ReturnType<typeof startDashboardBrowser>>;
let server: Awaited<ReturnType<typeof startDashboardBrowser>>['server'];
let browser: Browser;
let page: Page;

before(async () => {
  db = await createTestDatabase();
  w = await seedDashboard(db.sql);
  const sql = db.sql;
  await sql`UPDATE farms SET name = 'Saskatchewan River Ranch' WHERE id = ${w.farmA}`;
  await sql`UPDATE devices SET label = 'Chute 2 (north barn)' WHERE id = ${w.deviceA}`;
  await sql`
    INSERT INTO device_health (device_id, heartbeat_id, received_at, sent_at, clock_skew_ms, agent_version,
                               uptime_s, pending_captures, pending_bytes, oldest_pending_age_s, quarantined,
                               disk_free_bytes, disk_floor_bytes, clock_synced, clock_source, clock_offset_ms,
                               probe_connected, probe_model, frame_rate_fps, health_ok, body)
    VALUES (${w.deviceA}, 1, now() - interval '3 minutes', now() - interval '3 minutes', 0, '0.4.1', 7200, 45,
            94371840, 10800, 0, 7500000000, 209715200, false, 'timesyncd', 1840, true, 'Convex-3.5MHz', 15,
            true, '{}')`;
  dashboard = await startDashboardBrowser(db.sql);
  ({ server, browser } = dashboard);
  page = await (await browser.newContext({ hasTouch: true })).newPage();
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel('Email').fill(w.users.admin.email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/`);
});
after(async () => {
  await dashboard?.close();
  await db?.drop();
});

const pagesWithTables = () => [
  '/',
  '/scans',
  `/scans/${w.scanGraded}`,
  '/animals',
  `/animals/${w.animal}`,
  '/farms',
  `/farms/${w.farmA}`,
  '/fleet',
  '/groups',
  `/groups/${w.group}`,
  `/reports?farm_id=${w.farmA}&from=2025-09-01&to=2025-09-30`,
  `/reports/farms/${w.farmA}/print?day=2025-09-09`,
  '/admin/users',
];

/** The page and every table's box whose content is wider than the box ("what: content/box px"). */
const overflowing = (p: Page) =>
  p.evaluate(`[document.documentElement, ...document.querySelectorAll('.table-scroll')]
    .filter((e) => e.scrollWidth > e.clientWidth)
    .map((e) => (e === document.documentElement ? 'page' : '#' + e.querySelector('table').id)
      + ': ' + e.scrollWidth + '/' + e.clientWidth + ' px')`) as Promise<string[]>;

for (const width of [641, 680, 720, 767, 768, 800, 1024]) {
  test(`${width} px: every table fits the width, no sideways scrolling`, async () => {
    await page.setViewportSize({ width, height: 1000 });
    const wide: string[] = [];
    for (const path of pagesWithTables()) {
      const res = await page.goto(`${server.url}${path}`);
      assert.equal(res?.status(), 200, path);
      assert.ok((await page.locator('table.data-table').count()) > 0, `${path} has a table`);
      for (const o of await overflowing(page)) wide.push(`${path} ${o}`);
    }
    assert.deepEqual(wide, []);
  });
}

/** How the scans list's first row is laid out: 'block' (a card) or 'table-row'. */
const firstRowDisplay = () =>
  page.evaluate(`getComputedStyle(document.querySelector('#scans tbody tr')).display`) as Promise<string>;

test('641–767 px: the rows are cards, each with its grade and ribeye area in view', async () => {
  for (const width of [641, 720, 767]) {
    await page.setViewportSize({ width, height: 1000 });
    await page.goto(`${server.url}/scans`);
    const rows = page.locator('#scans tbody tr');
    assert.ok((await rows.count()) > 0);
    assert.equal(await firstRowDisplay(), 'block', `${width} px`);
    for (const label of ['Grade', 'Ribeye area']) {
      const cell = rows.first().locator(`td[data-label="${label}"]`);
      const box = (await cell.boundingBox())!;
      assert.ok(box.width > 0 && box.x >= 0 && box.x + box.width <= width, `${width} px: ${label} in view`);
    }
  }
  // The same width printed keeps the table (print rules; a printed page is about 680 px wide).
  await page.emulateMedia({ media: 'print' });
  await page.setViewportSize({ width: 680, height: 1000 });
  await page.goto(`${server.url}/scans`);
  assert.equal(await firstRowDisplay(), 'table-row');
  await page.emulateMedia({ media: 'screen' });
});

test('the columns hidden on a tablet are in the page, and shown on a desktop', async () => {
  const headers = (id: string) =>
    page
      .locator(`#${id} thead th`)
      .evaluateAll((ths) =>
        ths.filter((th) => th.getBoundingClientRect().width > 0).map((th) => th.textContent),
      );
  await page.setViewportSize({ width: 768, height: 1000 });
  await page.goto(`${server.url}/fleet`);
  assert.deepEqual(await headers('fleet'), [
    'Device',
    'Health',
    'Farm',
    'Last heard',
    'Scans today',
    'Backlog',
    'Disk free',
  ]);
  await page.goto(`${server.url}/scans`);
  assert.deepEqual(await headers('scans'), [
    'Image',
    'Captured',
    'Farm',
    'Animal',
    'Status',
    'Grade',
    'Ribeye area',
    'Fat',
  ]);
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(`${server.url}/fleet`);
  assert.equal((await headers('fleet')).length, 11);
  await page.goto(`${server.url}/scans`);
  assert.equal((await headers('scans')).length, 9);
});
