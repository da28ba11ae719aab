import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Browser } from 'playwright-core';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { startDashboardBrowser, watchPage } from '../test-browser.ts';
import { type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';

// Text people type — farm, animal, group, device and user names, capture ids, review labels,
// announcements, account requests — at its worst: one word of thousands of letters, markup, an RTL
// override, emoji and combining marks (and the fleet's longest badge, a refused heartbeat with its fix). In Chromium at a 360 px phone width every page still fits
// (no sideways scrolling: one long word widened the page to 50,000 px) and nothing becomes markup.
// At a tablet's 700 px, just above the phone layout, the tables' rows are rows again: a wide one
// scrolls in its own box (the scans list widened the page to 785 px).

let w: DashboardWorld;
let db: TestDatabase;
let dashboard: Awaited<ReturnType<typeof startDashboardBrowser>>;
let server: Awaited<ReturnType<typeof startDashboardBrowser>>['server'];
let browser: Browser;

before(async () => {
  db = await createTestDatabase();
  w = await seedDashboard(db.sql);
  const sql = db.sql;
  await sql`UPDATE farms SET name = ${`<script>alert(1)</script>${'W'.repeat(3000)}`} WHERE id = ${w.farmA}`;
  await sql`UPDATE animals SET tag_id = ${'"><img src=x onerror=alert(2)>'}, breed = ${'B'.repeat(10_000)}
            WHERE id = ${w.animal}`;
  await sql`UPDATE contemporary_groups SET name = ${`\u202Eevil ${'G'.repeat(500)} 🐄‍🌾 é̃̃̃`} WHERE id = ${w.group}`;
  await sql`UPDATE devices SET label = ${'D'.repeat(500)} WHERE id = ${w.deviceA}`;
  // The longest badge and fix line the fleet and device page draw (review r11 F5).
  await sql`INSERT INTO device_request_rejections (device_code, http_status, error_code)
            VALUES ('dev-a', 401, 'bad_signature')`;
  await sql`UPDATE users SET full_name = ${'F'.repeat(500)} WHERE id = ${w.users.farmer.id}`;
  await sql`UPDATE scans SET review_label = ${'R'.repeat(64)}, capture_id = ${'C'.repeat(200)}
            WHERE id = ${w.scanGraded}`;
  await sql`INSERT INTO announcements (title, body, format)
            VALUES (${'T'.repeat(300)}, ${`[click](javascript:alert(3)) <img src=x onerror=alert(4)> https://${'u'.repeat(500)}.example ${'M'.repeat(2000)}`}, 'markdown')`;
  await sql`INSERT INTO registration_requests (email, full_name, password_hash, requested_role, message)
            VALUES (${`${'e'.repeat(200)}@example.com`}, ${'N'.repeat(400)}, 'x', 'farmer', ${`<b>hi</b>${'Q'.repeat(3000)}`})`;
  dashboard = await startDashboardBrowser(db.sql);
  ({ server, browser } = dashboard);
});
after(async () => {
  await dashboard?.close();
  await db?.drop();
});

for (const [who, width] of [
  ['admin', 360],
  ['farmer', 360],
  ['admin', 700],
  ['farmer', 700],
] as const) {
  test(`${who}: every page fits ${width} px with long names, and stored markup stays text`, async () => {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    await watchPage(page);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${server.url}/sign-in`);
    await page.getByLabel('Email').fill(w.users[who].email);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
    const paths = [
      '/',
      '/scans',
      `/scans/${w.scanGraded}`,
      '/animals',
      `/animals/${w.animal}`,
      '/farms',
      `/farms/${w.farmA}`,
      '/fleet',
      `/fleet/${w.deviceA}`,
      '/groups',
      `/groups/${w.group}`,
      '/notifications',
      `/reports?farm_id=${w.farmA}`,
      `/reports/farms/${w.farmA}/print?day=2025-09-09`,
      '/account',
      ...(who === 'admin'
        ? [
            '/admin/users',
            `/admin/users/${w.users.farmer.id}`,
            '/admin/registrations',
            '/admin/announcements',
          ]
        : []),
    ];
    const wide: string[] = [];
    for (const path of paths) {
      const res = await page.goto(`${server.url}${path}`);
      assert.equal(res?.status(), 200, path);
      const scrollWidth = (await page.evaluate('document.scrollingElement.scrollWidth')) as number;
      if (scrollWidth > width) wide.push(`${path}: ${scrollWidth} px`);
      // A table's caption is a line of our words above it, not a column of single letters (on a phone
      // the table is a stack of cards and its caption once shrank to the width of one character).
      const captions = (await page.evaluate(`[...document.querySelectorAll('caption:not(.visually-hidden)')]
        .filter((c) => c.getBoundingClientRect().height > 3 * 1.6 * parseFloat(getComputedStyle(c).fontSize))
        .map((c) => c.textContent + ': ' + Math.round(c.getBoundingClientRect().height) + ' px high')`)) as string[];
      for (const c of captions) wide.push(`${path}: caption "${c}"`);
      const injected = await page.evaluate(
        `document.querySelectorAll('script:not([src]), img[src="x"], [onerror], a[href^="javascript" i], main b').length`,
      );
      assert.equal(injected, 0, `${path}: stored text became markup`);
    }
    assert.deepEqual(wide, [], `pages wider than ${width} px`);
    assert.deepEqual(dialogs, []);
    await context.close();
  });
}
