import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { Hono } from 'hono';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { listen } from '../../http-server.ts';
import { createTestApp, type TestApp } from '../../test-helpers.ts';
import { seedUser } from '../../test-seed.ts';
import { launchBrowser, signInThroughPage, watchPage } from '../test-browser.ts';

// A double-click on a page form's submit button in headless Chromium sends the form once
// (static/js/submit-once.js). The create POSTs are held at a gate in front of the app until the
// double-click is over, so the second click lands while the first submit is still in flight — as
// on a slow farm connection — whatever the machine's speed; then every held request is let through
// and finishes before the rows are counted.

let db: TestDatabase;
let app: TestApp;
let server: Awaited<ReturnType<typeof listen>>;
let url: string;
let browser: Browser;
let context: BrowserContext;

const gate = { open: true, waiting: [] as (() => void)[], inFlight: [] as Promise<void>[], arrived: 0 };
const GATED = new Set(['/admin/announcements', '/farms']);

before(async () => {
  db = await createTestDatabase();
  const admin = await seedUser(db.sql, 'admin@example.com', ['admin']);
  app = createTestApp(db.sql);
  const outer = new Hono();
  outer.use(async (c, next) => {
    if (c.req.method !== 'POST' || !GATED.has(c.req.path)) return next();
    gate.arrived += 1;
    let finished!: () => void;
    gate.inFlight.push(new Promise((resolve) => (finished = resolve)));
    try {
      if (!gate.open) await new Promise<void>((resolve) => gate.waiting.push(resolve));
      await next();
    } finally {
      finished();
    }
  });
  outer.route('/', app.app);
  server = await listen({ app: outer, host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${server.port}`;
  browser = await launchBrowser();
  context = await browser.newContext();
  await signInThroughPage(context, url, admin.email);
});
after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
  await app?.close();
  await db?.drop();
});

const arrivals = async (n: number) => {
  while (gate.arrived < n) await new Promise((resolve) => setTimeout(resolve, 10));
};

/**
 * Double-clicks `button` the way a person does on a slow line: the second click lands after the first
 * submit reached the server (held at the gate). Then lets every held request through and waits for all.
 */
async function doubleClickHeld(page: Page, button: string, landing: RegExp) {
  gate.open = false;
  gate.arrived = 0;
  gate.inFlight = [];
  const target = page.getByRole('button', { name: button });
  await target.scrollIntoViewIfNeeded();
  const box = (await target.boundingBox())!;
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
  await page.mouse.click(x, y);
  await arrivals(1);
  await page.mouse.click(x, y, { clickCount: 2 });
  gate.open = true;
  for (const release of gate.waiting.splice(0)) release();
  await page.waitForURL(landing);
  await Promise.all(gate.inFlight);
}

describe('a double-click on a submit button', { timeout: 60_000 }, () => {
  test('creates one announcement', async () => {
    const page = await context.newPage();
    const watch = await watchPage(page);
    await page.goto(`${url}/admin/announcements`);
    await page.getByLabel('Title').fill('Scanner day');
    await page.getByLabel('Text').fill('Bring the cattle in early.');
    await doubleClickHeld(page, 'Publish', /\/admin\/announcements\?done=announcement-created$/);
    const [made] = await db.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM announcements WHERE title = 'Scanner day'`;
    assert.equal(made?.n, 1);
    assert.deepEqual(await watch.problems(), []);
    await page.close();
  });

  test('creates one farm (farm names are not unique: nothing else stops a second one)', async () => {
    const page = await context.newPage();
    const watch = await watchPage(page);
    await page.goto(`${url}/farms`);
    await page.getByLabel('Name').fill('Cedar Farm');
    await doubleClickHeld(page, 'Create farm', /\/farms\/[0-9a-f-]{36}\?done=farm-created$/);
    const [made] = await db.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM farms WHERE name = 'Cedar Farm'`;
    assert.equal(made?.n, 1);
    assert.match(
      page.url(),
      new RegExp(`/farms/${(await db.sql`SELECT id FROM farms WHERE name = 'Cedar Farm'`)[0]!.id}`),
    );
    assert.deepEqual(await watch.problems(), []);
    await page.close();
  });
});
