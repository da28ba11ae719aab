import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../../test-seed.ts';
import { type BrowserApp, startDashboardBrowser, watchPage } from '../test-browser.ts';

// Review r1 F11: every open /scans tab held a live stream, and over HTTP/1.1 Chromium allows 6
// connections per host: with six such tabs no other dashboard page loaded. A hidden tab now closes its
// stream and, shown again, reopens it and catches up on what it missed (static/js/live-scans.js).
//
// Headless Chromium shows every page (document.visibilityState is always "visible", whatever tab is in
// front), so the test switches tabs the way the browser reports it to the page: visibilityState
// becomes "hidden"/"visible" and `visibilitychange` fires. The connections, the limit and the server
// are real.

const VISIBILITY = `(() => {
  let state = 'visible';
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => state });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => state === 'hidden' });
  window.__setVisibility = (s) => { state = s; document.dispatchEvent(new Event('visibilitychange')); };
})();`;

let db: TestDatabase;
let running: BrowserApp;
let farm: string;
let device: string;

before(async () => {
  db = await createTestDatabase();
  farm = await seedFarm(db.sql, 'Maple Farm');
  device = await seedDevice(db.sql, 'dev-tabs', farm);
  await seedScan(db.sql, { farmId: farm, deviceId: device, captureId: 'cap_before' });
  await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: farm }] });
  running = await startDashboardBrowser(db.sql);
});
after(async () => {
  await running?.close();
  await db?.drop();
});

async function signedInContext(): Promise<BrowserContext> {
  const context = await running.browser.newContext();
  await context.addInitScript(VISIBILITY);
  const page = await context.newPage();
  await page.goto(`${running.server.url}/sign-in?next=%2Ffarms`);
  await page.getByLabel('Email').fill('farmer@example.com');
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${running.server.url}/farms`);
  await page.close();
  return context;
}

const liveState = (page: Page) => page.locator('table[data-live-src]').getAttribute('data-live');
const setVisibility = (page: Page, state: 'hidden' | 'visible') =>
  page.evaluate(`window.__setVisibility(${JSON.stringify(state)})`);

describe('many /scans tabs in one browser', () => {
  test('hidden tabs close their streams: with 7 of them open another page still loads', async () => {
    const context = await signedInContext();
    const tabs: Page[] = [];
    for (let i = 0; i < 7; i++) {
      const page = await context.newPage();
      const watch = await watchPage(page);
      await page.goto(`${running.server.url}/scans`, { timeout: 10_000 });
      await page.waitForSelector('table[data-live="ready"]', { timeout: 10_000 });
      await setVisibility(page, 'hidden'); // the user opens the next tab
      assert.deepEqual(await watch.problems(), []);
      tabs.push(page);
    }
    const other = await context.newPage();
    const started = Date.now();
    const res = await other.goto(`${running.server.url}/farms`, { timeout: 5_000 });
    assert.equal(res?.status(), 200);
    assert.ok(Date.now() - started < 5_000);
    for (const tab of tabs) assert.equal(await liveState(tab), 'paused');
    await context.close();
  });

  test('a tab shown again reconnects and catches up on the scans it missed while hidden', async () => {
    const context = await signedInContext();
    const page = await context.newPage();
    const watch = await watchPage(page);
    await page.goto(`${running.server.url}/scans`);
    await page.waitForSelector('table[data-live="ready"]');
    await setVisibility(page, 'hidden');
    // Arrives while the tab has no stream: only the catch-up can bring it.
    await seedScan(db.sql, { farmId: farm, deviceId: device, captureId: 'cap_while_hidden' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await page.locator('tr', { hasText: 'cap_while_hidden' }).count(), 0);
    await setVisibility(page, 'visible');
    await page.waitForSelector('tr:has-text("cap_while_hidden")', { timeout: 10_000 });
    await page.waitForSelector('table[data-live="ready"]');
    // And the reopened stream is live again.
    await seedScan(db.sql, { farmId: farm, deviceId: device, captureId: 'cap_after_shown' });
    await page.waitForSelector('tr:has-text("cap_after_shown")', { timeout: 10_000 });
    assert.equal(await page.locator('tr', { hasText: 'cap_before' }).count(), 1, 'no row twice');
    assert.deepEqual(await watch.problems(), []);
    await context.close();
  });
});
