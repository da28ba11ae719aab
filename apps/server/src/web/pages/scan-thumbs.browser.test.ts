import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { type LocalS3, startS3rver } from '@cti/testkit';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { createTestApp, listenTestApp, type TestApp } from '../../test-helpers.ts';
import { startSignatureProxy } from '../../test-s3-signature-proxy.ts';
import { seedScan, TEST_PASSWORD } from '../../test-seed.ts';
import { launchBrowser, watchPage } from '../test-browser.ts';
import { BUCKET, type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';

// Lazily loaded thumbnails on a phone, in Chromium, with presigned URLs that live 2 s and a proxy that
// refuses expired ones as S3 does: rows below the fold, and a live row that arrives out of view, are
// still scrolled to after their URLs would have expired, and every thumbnail must still decode.

process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
const TTL_S = 2;

let db: TestDatabase;
let s3: LocalS3;
let proxy: Awaited<ReturnType<typeof startSignatureProxy>>;
let app: TestApp;
let server: Awaited<ReturnType<typeof listenTestApp>>;
let browser: Browser;
let w: DashboardWorld;
let png: Buffer;
/** An image asset for a new scan: its own key in the bucket (keys are unique), the same bytes. */
async function image(name: string) {
  const key = `raw/dev-a/2025/09/01/${name}/image.png`;
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: png }));
  return { bucket: BUCKET, key, sha256: 'e'.repeat(64), size: png.byteLength };
}

before(async () => {
  db = await createTestDatabase();
  s3 = await startS3rver({ buckets: [BUCKET] });
  proxy = await startSignatureProxy({ target: s3.endpoint, secretKey: 'S3RVER' });
  png = await sharp({ create: { width: 96, height: 72, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toBuffer();
  w = await seedDashboard(db.sql);
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: w.keys.image, Body: png }));
  for (let i = 0; i < 16; i++) {
    await seedScan(db.sql, {
      farmId: w.farmA,
      deviceId: w.deviceA,
      captureId: `cap_thumb_${i}`,
      capturedAt: `2025-08-${String(10 + i).padStart(2, '0')}T10:00:00Z`,
      image: await image(`cap_thumb_${i}`),
    });
  }
  app = createTestApp(db.sql, {
    api: {
      signedUrlTtlSeconds: TTL_S,
      s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      s3PublicEndpoint: proxy.endpoint,
    },
  });
  server = await listenTestApp(app);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await app?.closeStreams();
  await app?.close();
  await proxy?.close();
  await s3?.close();
  await db?.drop();
});

async function phoneSession(email: string) {
  const context = await browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true });
  const page = await context.newPage();
  const watch = await watchPage(page);
  await page.goto(`${server.url}/sign-in?next=/scans`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/scans`);
  return { context, page, problems: () => watch.problems() };
}

/** Each thumbnail's state: loaded (decoded), broken, or pending (not requested or not done yet). */
const thumbStates = (page: Page) =>
  page.evaluate(
    "Array.from(document.querySelectorAll('img.thumb'), (i) => (i.complete ? (i.naturalWidth > 0 ? 'loaded' : 'broken') : 'pending'))",
  ) as Promise<string[]>;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scan-list thumbnails in Chromium', () => {
  test('below-the-fold and live thumbnails still load after a presigned URL would have expired', async () => {
    const { context, page, problems } = await phoneSession(w.users.farmer.email);
    try {
      await page.waitForSelector('table[data-live="ready"]');
      // The page's own CSP: 'self' for the redirector, the store's origin for where it redirects to
      // (a violation of either would also show in problems() below).
      const csp = (await page.request.get(`${server.url}/scans`)).headers()['content-security-policy'] ?? '';
      assert.match(csp, new RegExp(`img-src 'self'[^;]* ${new URL(proxy.endpoint).origin}`));
      const srcs = await page
        .locator('img.thumb')
        .evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')));
      assert.ok(srcs.length >= 16, `${srcs.length} thumbnails`);
      for (const src of srcs) assert.match(src ?? '', /^\/api\/v1\/assets\/[0-9a-f-]{36}\/content$/);
      assert.ok((await thumbStates(page)).includes('pending'), 'some thumbnails wait below the fold');

      // Scrolled down, a live scan arrives at the top (out of view) and waits there past the TTL.
      await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
      const live = await seedScan(db.sql, {
        farmId: w.farmA,
        deviceId: w.deviceA,
        captureId: 'cap_thumb_live',
        image: await image('live'),
      });
      await page.waitForSelector(`tr[data-scan-id="${live}"] img.thumb`, { state: 'attached' });
      await pause((TTL_S + 1) * 1000);
      await page.evaluate('window.scrollTo(0, 0)');
      // Then down again, slowly, so every lazy thumbnail is asked for late.
      for (let y = 0; y <= 6000; y += 300) {
        await page.evaluate(`window.scrollTo(0, ${y})`);
        await pause(60);
      }
      await page.waitForFunction(
        "Array.from(document.querySelectorAll('img.thumb')).every((i) => i.complete)",
        undefined,
        { timeout: 10_000 },
      );
      const states = await thumbStates(page);
      assert.deepEqual(
        states.filter((s) => s !== 'loaded'),
        [],
        `thumbnails: ${states.join(' ')}`,
      );
      assert.deepEqual(await problems(), []);
    } finally {
      await context.close();
    }
  });

  test('the redirector keeps the access rule: a farmer of another farm gets 404, the owner a fresh URL', async () => {
    const [row] = await db.sql<{ image_asset_id: string }[]>`
      SELECT image_asset_id FROM scans WHERE capture_id = 'cap_thumb_0'`;
    const path = `/api/v1/assets/${row!.image_asset_id}/content`;
    for (const [email, expected] of [
      [w.users.stranger.email, 404],
      [w.users.farmer.email, 302],
    ] as const) {
      const { context, page } = await phoneSession(email);
      try {
        const res = await page.request.get(`${server.url}${path}`, { maxRedirects: 0 });
        assert.equal(res.status(), expected, email);
        if (expected === 302) assert.match(res.headers().location ?? '', /X-Amz-Signature=/);
      } finally {
        await context.close();
      }
    }
  });
});
