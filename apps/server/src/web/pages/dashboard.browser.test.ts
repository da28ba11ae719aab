import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutBucketCorsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { type LocalS3, startS3rver } from '@cti/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { createTestApp, listenTestApp, type TestApp } from '../../test-helpers.ts';
import { startSignatureProxy } from '../../test-s3-signature-proxy.ts';
import { seedScan, TEST_PASSWORD } from '../../test-seed.ts';
import { launchBrowser, watchPage } from '../test-browser.ts';
import { BUCKET, type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';

// The dashboard in headless Chromium (Debian's, driven by playwright-core) against the real app on a
// port, Postgres + PostGIS, and images in s3rver behind a proxy that checks presigned URLs as S3
// does: each role signs in and sees what it should; a farmer never sees another farm's scans (list
// and URL); images load through their signed URLs and decode; the overlay toggles; a live scan
// appears (and another farm's does not); the mask editor only for admins and technicians; errors
// beside fields; stored scripts stay text; sign-out ends the session. One browser for the file.

process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';

let w: DashboardWorld;
let s3: LocalS3;
let proxy: Awaited<ReturnType<typeof startSignatureProxy>>;
let server: Awaited<ReturnType<typeof listenTestApp>>;
let browser: Browser;
const pixels = (r: number, g: number, b: number, alpha = 1) =>
  sharp({ create: { width: 640, height: 480, channels: 4, background: { r, g, b, alpha } } })
    .png()
    .toBuffer();

let db: TestDatabase;
let app: TestApp;

// One hook (root-level before() hooks run concurrently): database, store, app on a port, browser.
before(async () => {
  db = await createTestDatabase();
  s3 = await startS3rver({ buckets: [BUCKET] });
  proxy = await startSignatureProxy({ target: s3.endpoint, secretKey: 'S3RVER' });
  const images = {
    image: await pixels(70, 70, 70),
    overlay: await pixels(250, 200, 0, 0.5),
    mask: await pixels(255, 255, 255),
  };
  w = await seedDashboard(db.sql, images);
  for (const [name, body] of Object.entries(images)) {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: w.keys[name as 'image'], Body: body }));
  }
  // The mask editor reads the image and mask back through a canvas: the bucket must allow the
  // dashboard's origin (CORS), as the server README says for production buckets.
  await s3.client.send(
    new PutBucketCorsCommand({
      Bucket: BUCKET,
      CORSConfiguration: {
        CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], AllowedHeaders: ['*'] }],
      },
    }),
  );
  app = createTestApp(db.sql, {
    api: {
      signedUrlTtlSeconds: 120,
      s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      s3PublicEndpoint: proxy.endpoint,
    },
  });
  server = await listenTestApp(app);
  browser = await launchBrowser();
});
after(async () => {
  for (const s of sessions) await s.context.close();
  await browser?.close();
  await server?.close();
  await app?.closeStreams();
  await app?.close();
  await proxy?.close();
  await s3?.close();
  await db?.drop();
});

type Session = { context: BrowserContext; page: Page; problems: () => Promise<string[]> };
const sessions: Session[] = [];

async function signIn(who: keyof DashboardWorld['users'], { javaScript = true } = {}): Promise<Session> {
  const context = await browser.newContext({ javaScriptEnabled: javaScript });
  const page = await context.newPage();
  const watch = await watchPage(page);
  await page.goto(`${server.url}/scans`);
  assert.match(page.url(), /\/sign-in\?next=%2Fscans$/);
  await page.getByLabel('Email').fill(w.users[who].email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/scans`);
  const session = { context, page, problems: () => watch.problems() };
  sessions.push(session);
  return session;
}

const rowIds = (page: Page) =>
  page.locator('#scans tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-scan-id')));
const navLinks = (page: Page) => page.locator('.site-nav a').allTextContents();
/** Waits for an <img> to load and returns its decoded width (0 when it did not decode). */
const decodedWidth = (page: Page, selector: string) =>
  page.evaluate(
    `(async () => { const img = document.querySelector(${JSON.stringify(selector)}); try { await img.decode(); } catch { return 0; } return img.naturalWidth; })()`,
  ) as Promise<number>;

describe('the dashboard in Chromium', () => {
  test("farmer: own farm's scans only, the thumbnail (via the redirector) and image decode through signed URLs, overlay toggles, another farm's scan is a 404", async () => {
    const { page, problems } = await signIn('farmer');
    assert.deepEqual(await navLinks(page), ['Scans', 'Animals', 'Groups', 'Farms', 'Reports']);
    assert.deepEqual(await rowIds(page), [w.scanWaiting, w.scanNoSpacing, w.scanGraded]);
    assert.equal(await page.locator('text=cap_other_farm').count(), 0);
    const thumb = `tr[data-scan-id="${w.scanGraded}"] img.thumb`;
    // The thumbnail goes through the access-checked redirector (a fresh presigned URL per load).
    assert.match(
      (await page.locator(thumb).getAttribute('src')) ?? '',
      /^\/api\/v1\/assets\/[0-9a-f-]{36}\/content$/,
    );
    assert.equal(await decodedWidth(page, thumb), 640);
    await page.locator(`tr[data-scan-id="${w.scanGraded}"] a`).click();
    await page.waitForURL(`${server.url}/scans/${w.scanGraded}`);
    assert.equal(await decodedWidth(page, 'img.scan-base'), 640);
    assert.equal(await decodedWidth(page, 'img.scan-overlay'), 640);
    assert.equal(await page.locator('.scan-overlay').isVisible(), true);
    await page.getByLabel('Show outline and measurements').uncheck();
    assert.equal(await page.locator('.scan-overlay').isVisible(), false);
    await page.locator('h1').click(); // the key works anywhere but in form fields
    await page.keyboard.press('o');
    assert.equal(await page.locator('.scan-overlay').isVisible(), true, 'the o key brings it back');
    assert.equal(await page.locator('[data-mask-editor]').count(), 0, 'no mask editor for a farmer');
    assert.match((await page.locator('#result-title + dl').textContent()) ?? '', /81\.4 cm²[\s\S]*6\.2 mm/);
    // A signed URL altered by one character is refused by the store.
    const src = (await page.locator('img.scan-base').getAttribute('src'))!;
    const tampered = src.replace(/X-Amz-Signature=(.)/, (_, c) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    const loads = (url: string) =>
      page.evaluate(
        `(() => { const i = new Image(); i.src = ${JSON.stringify(url)}; return i.decode().then(() => i.naturalWidth, () => 0); })()`,
      );
    assert.equal(await loads(tampered), 0);
    assert.equal((await fetch(tampered)).status, 403);
    assert.equal(await loads(src), 640);
    // On a phone: no sideways scrolling on the list, the scan, the farm map.
    await page.setViewportSize({ width: 390, height: 800 });
    for (const path of ['/scans', `/scans/${w.scanGraded}`, `/farms/${w.farmA}`, `/animals/${w.animal}`]) {
      await page.goto(`${server.url}${path}`);
      assert.ok(
        ((await page.evaluate('document.documentElement.scrollWidth')) as number) <= 390,
        `${path} fits a phone`,
      );
    }
    assert.deepEqual(await problems(), []);
    const res = await page.goto(`${server.url}/scans/${w.scanB}`);
    assert.equal(res?.status(), 404);
    assert.equal(await page.locator('h1').textContent(), 'Not found');
    assert.equal(await page.locator('text=cap_other_farm').count(), 0);
  });

  test('live: a new scan of the farm appears in the open list, another farm’s does not, then its grading replaces the row', async () => {
    const { page, problems } = await signIn('farmer');
    await page.waitForSelector('table[data-live="ready"]');
    const sql = db.sql;
    const other = await seedScan(sql, { farmId: w.farmB, deviceId: w.deviceB, captureId: 'cap_live_other' });
    const mine = await seedScan(sql, { farmId: w.farmA, deviceId: w.deviceA, captureId: 'cap_live_mine' });
    await page.waitForSelector(`tr[data-scan-id="${mine}"]`);
    assert.equal((await rowIds(page))[0], mine, 'the newest scan goes on top');
    assert.equal(await page.locator(`tr[data-scan-id="${other}"]`).count(), 0);
    assert.match(
      (await page.locator('[data-live-status]').textContent()) ?? '',
      /Scan cap_live_mine arrived/,
    );
    await sql.begin(async (tx) => {
      await tx`INSERT INTO grading_results (scan_id, model_name, model_version, grade, confidence, features_used)
               VALUES (${mine}, 'ribeye-seg', '2.3.0', 'A', 0.9, ${tx.json({ rea_cm2: 77.7, fat_thickness_mm: 5.1 })})`;
      await tx`UPDATE scans SET status = 'graded' WHERE id = ${mine}`;
    });
    await page.waitForSelector(`tr[data-scan-id="${mine}"] >> text=77.7 cm²`);
    assert.equal(await page.locator(`tr[data-scan-id="${mine}"]`).count(), 1, 'replaced, not added');
    assert.equal(await page.locator(`tr[data-scan-id="${other}"]`).count(), 0);
    const admin = await signIn('admin');
    assert.ok((await rowIds(admin.page)).includes(other), 'the admin sees every farm');
    assert.deepEqual(await problems(), []);
  });

  test('technician and admin: the mask editor is there and starts under the CSP; the technician has the Fleet link', async () => {
    for (const who of ['technician', 'admin'] as const) {
      const { page, problems } = await signIn(who);
      await page.goto(`${server.url}/scans/${w.scanGraded}`);
      await page.waitForSelector('[data-mask-editor][data-ready="true"]');
      assert.equal(await page.locator('[data-mask-editor] canvas').count(), 1);
      // Image and current mask read back through the canvas (no "could not be loaded").
      const editor = page.locator('[data-mask-editor][data-image][data-mask]');
      await editor.waitFor();
      assert.deepEqual(
        [await editor.getAttribute('data-image'), await editor.getAttribute('data-mask')],
        ['loaded', 'loaded'],
      );
      assert.doesNotMatch((await page.locator('.mask-status').textContent()) ?? '', /could not/);
      const nav = await navLinks(page);
      assert.ok(nav.includes('Fleet'), who);
      assert.equal(nav.includes('Users'), who === 'admin');
      assert.deepEqual(await problems(), [], who);
    }
  });

  test('forms without JavaScript: errors beside the fields, then saved; a stored script stays text', async () => {
    const tech = await signIn('technician', { javaScript: false });
    await tech.page.goto(`${server.url}/farms/${w.farmA}`);
    await tech.page.getByLabel('Geofence').fill('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}');
    await tech.page.getByRole('button', { name: 'Save farm' }).click();
    const error = tech.page.locator('#field-geofence-error');
    assert.match((await error.textContent()) ?? '', /at least 4 positions/);
    assert.equal(await tech.page.getByLabel('Geofence').getAttribute('aria-invalid'), 'true');
    assert.equal(await tech.page.locator('.error-summary a').getAttribute('href'), '#field-geofence');
    await tech.page.goto(`${server.url}/scans/${w.scanNoSpacing}`);
    await tech.page.getByLabel('Label').fill('<img src=x onerror="document.title=\'pwned\'">');
    await tech.page.getByLabel('Clarity').selectOption('2');
    await tech.page.getByRole('button', { name: 'Save review' }).click();
    await tech.page.waitForURL(/done=review-saved/);
    assert.match((await tech.page.locator('.flash-success').textContent()) ?? '', /Review saved/);

    const admin = await signIn('admin');
    await admin.page.goto(`${server.url}/admin/announcements`);
    await admin.page.getByLabel('Title').fill('Chute day');
    await admin.page
      .getByLabel('Text')
      .fill(
        'Bring **tags**.\n\n<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">',
      );
    await admin.page.getByRole('button', { name: 'Publish' }).click();
    await admin.page.waitForURL(/done=announcement-created/);

    const farmer = await signIn('farmer');
    await farmer.page.goto(`${server.url}/`);
    const announcement = farmer.page.locator('.announcement').filter({ hasText: 'Chute day' });
    assert.equal(await announcement.locator('strong').textContent(), 'tags');
    assert.match((await announcement.textContent()) ?? '', /<script>document\.title="pwned"<\/script>/);
    assert.equal(await announcement.locator('script, img').count(), 0);
    await farmer.page.goto(`${server.url}/scans/${w.scanNoSpacing}`);
    assert.match((await farmer.page.locator('#review').textContent()) ?? '', /<img src=x onerror=/);
    assert.equal(await farmer.page.locator('#review img').count(), 0);
    assert.doesNotMatch(await farmer.page.title(), /pwned/);
    assert.deepEqual(await farmer.problems(), []);
  });

  test('sign-out ends the session: back to sign-in, pages and the old cookie refused', async () => {
    const { page, context } = await signIn('farmer');
    const cookie = (await context.cookies()).find((c) => c.name === 'cti_session')!;
    await page.locator('.site-user').getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in\?signed_out=1$/);
    await page.goto(`${server.url}/scans/${w.scanGraded}`);
    assert.match(page.url(), /\/sign-in\?next=/);
    const replay = await fetch(`${server.url}/scans`, {
      headers: { cookie: `cti_session=${cookie.value}` },
      redirect: 'manual',
    });
    assert.equal(replay.status, 303);
    const stream = await fetch(`${server.url}/scans/events`, {
      headers: { cookie: `cti_session=${cookie.value}` },
    });
    assert.equal(stream.status, 401);
  });
});
