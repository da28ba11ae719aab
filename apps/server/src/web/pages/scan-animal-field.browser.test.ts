import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { seedDevice, seedFarm, seedScan, seedUser } from '../../test-seed.ts';
import { signInThroughPage, startDashboardBrowser, watchPage } from '../test-browser.ts';

// The Animal field on a phone, in headless Chromium against the real app and database: a technician
// of a 1,200-head feedlot types the 1,150th animal's tag into the scan's "Farm and animal" form and
// saves; an unknown tag comes back beside the field with the text kept; the scans filter finds the
// scan by the same tag. On a small herd the browser itself ties the field to its list of tags.

let db: TestDatabase;
let dashboard: Awaited<ReturnType<typeof startDashboardBrowser>>;
let context: BrowserContext;
let url: string;
const x = {} as Record<'scan' | 'smallScan', string>;

before(async () => {
  db = await createTestDatabase();
  const sql = db.sql;
  const feedlot = await seedFarm(sql, 'Big Feedlot');
  const small = await seedFarm(sql, 'Small Herd');
  const device = await seedDevice(sql, 'dev-feedlot', feedlot);
  await sql`
    INSERT INTO animals (farm_id, tag_id, eid)
    SELECT ${feedlot}, 'F-' || lpad(i::text, 4, '0'), '826' || lpad(i::text, 12, '0') FROM generate_series(1, 1200) i`;
  await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${small}, 'S-1'), (${small}, 'S-2'), (${small}, 'S-3')`;
  x.scan = await seedScan(sql, { farmId: feedlot, deviceId: device, captureId: 'cap_chute_1' });
  x.smallScan = await seedScan(sql, { farmId: small, deviceId: device, captureId: 'cap_small_1' });
  const tech = await seedUser(sql, 'chute@example.com', ['technician'], {
    farms: [{ id: feedlot }, { id: small }],
  });
  dashboard = await startDashboardBrowser(sql);
  url = dashboard.server.url;
  context = await dashboard.browser.newContext({
    viewport: { width: 390, height: 844 },
    hasTouch: true,
    isMobile: true,
  });
  await signInThroughPage(context, url, tech.email);
});
after(async () => {
  await context?.close();
  await dashboard?.close();
  await db?.drop();
});

const animalField = (page: Page) => page.getByLabel('Animal (ear tag or EID)');

test('a technician links a scan to the 1,150th of 1,200 animals by typing its tag, and filters the list by it', {
  timeout: 60_000,
}, async () => {
  const page = await context.newPage();
  const watch = await watchPage(page);
  await page.goto(`${url}/scans/${x.scan}`);
  // Typed only: a list of 1,200 tags is offered to nobody.
  assert.equal(await page.evaluate(`document.getElementById('field-animal').list`), null);
  await animalField(page).fill('F-1201');
  await page.getByRole('button', { name: 'Save farm and animal' }).click();
  await page.waitForURL(/\/assignment$/);
  assert.equal(
    await page.locator('#field-animal-error').textContent(),
    'Error: No animal with ear tag or EID “F-1201” on Big Feedlot.',
  );
  assert.equal(await animalField(page).inputValue(), 'F-1201', 'the typed tag is kept');
  await animalField(page).fill('F-1150');
  await page.getByRole('button', { name: 'Save farm and animal' }).click();
  await page.waitForURL(/done=scan-assigned/);
  assert.equal(await page.getByRole('link', { name: 'F-1150' }).count(), 1, 'the scan names its animal');
  assert.equal(await animalField(page).inputValue(), 'F-1150');
  const [stored] = await db.sql`
    SELECT a.tag_id FROM scans s JOIN animals a ON a.id = s.animal_id WHERE s.id = ${x.scan}`;
  assert.equal(stored?.tag_id, 'F-1150');

  await page.goto(`${url}/scans`);
  await page.getByText('Filter scans').click();
  await animalField(page).fill('F-1150');
  await page.getByRole('button', { name: 'Show scans' }).click();
  await page.waitForURL(/animal=F-1150/);
  assert.deepEqual(
    await page
      .locator('tr[data-scan-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-scan-id'))),
    [x.scan],
  );
  assert.equal(await animalField(page).inputValue(), 'F-1150');
  // The 422 page itself is logged by Chromium as a failed load; anything else is a problem.
  assert.deepEqual(
    (await watch.problems()).filter((p) => !/status of 422 .*\/assignment$/.test(p)),
    [],
  );
  await page.close();
});

test('on a small herd the browser offers the tags with the field', async () => {
  const page = await context.newPage();
  await page.goto(`${url}/scans/${x.smallScan}`);
  const offered = await page.evaluate(
    `[...document.getElementById('field-animal').list.options].map((o) => o.value)`,
  );
  assert.deepEqual(offered, ['S-1', 'S-2', 'S-3']);
  await page.close();
});
