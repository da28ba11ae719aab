import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { type LocalS3, startS3rver } from '@cti/testkit';
import type { Browser } from 'playwright-core';
import { createTestApp, listenTestApp, type TestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { launchBrowser, watchPage } from '../web/test-browser.ts';
import { modelMask, type PhantomScan, phantomScan, seedCorrectableScan } from './test-correction-world.ts';

// A technician corrects a scan in headless Chromium: the real scan page (real app on a port, Postgres,
// the image and the model's mask in s3rver), the real mask editor (it starts from the model's mask read
// back through a canvas), a mouse stroke that adds the part of the ribeye the model missed, "Save
// correction" — then the page comes back with the corrected result first in the history.

process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
const BUCKET = 'cti-corrections-browser';

let db: TestDatabase;
let s3: LocalS3;
let app: TestApp;
let server: Awaited<ReturnType<typeof listenTestApp>>;
let browser: Browser;
let frame: PhantomScan;
let scan: { scanId: string; resultId: string | null };
let technician: string;

before(async () => {
  db = await createTestDatabase();
  s3 = await startS3rver({ buckets: [BUCKET] });
  await s3.client.send(
    new PutBucketCorsCommand({
      Bucket: BUCKET,
      CORSConfiguration: {
        CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], AllowedHeaders: ['*'] }],
      },
    }),
  );
  frame = await phantomScan();
  const farm = await seedFarm(db.sql, 'Maple Farm');
  const device = await seedDevice(db.sql, 'dev-a', farm);
  technician = (await seedUser(db.sql, 'tech@example.com', ['technician'], { farms: [{ id: farm }] })).id;
  scan = await seedCorrectableScan(db.sql, s3.client, {
    bucket: BUCKET,
    farmId: farm,
    deviceId: device,
    frame,
    captureId: 'cap_browser',
  });
  app = createTestApp(db.sql, {
    api: {
      signedUrlTtlSeconds: 120,
      s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      s3PublicEndpoint: undefined,
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
  await s3?.close();
  await db?.drop();
});

/** Bounding box [x0, y0, x1, y1] (inclusive) of a mask's pixels. */
function box(mask: { data: Uint8Array; width: number }) {
  const b = [Infinity, Infinity, -1, -1];
  mask.data.forEach((v, i) => {
    if (v !== 1) return;
    const [x, y] = [i % mask.width, Math.floor(i / mask.width)];
    b[0] = Math.min(b[0]!, x);
    b[1] = Math.min(b[1]!, y);
    b[2] = Math.max(b[2]!, x);
    b[3] = Math.max(b[3]!, y);
  });
  return b as [number, number, number, number];
}

describe('correcting a scan in Chromium', () => {
  test('draw in the editor on the scan page, save: the page shows the corrected result in the history', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 1400 } });
    const page = await context.newPage();
    const watch = await watchPage(page);
    await page.goto(`${server.url}/sign-in?next=/scans/${scan.scanId}`);
    await page.getByLabel('Email').fill('tech@example.com');
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/scans/${scan.scanId}`);
    await page.waitForSelector('[data-mask-editor][data-ready="true"]');
    await page.waitForLoadState('networkidle'); // the image and the model's mask are in the canvas
    assert.equal(await page.locator('#history tbody tr').count(), 1);

    // A stroke through the ribeye's middle row, from inside the model's mask into the third it missed.
    const canvas = page.locator('.mask-stage canvas');
    await canvas.scrollIntoViewIfNeeded();
    const onScreen = (await canvas.boundingBox())!;
    const scale = onScreen.width / frame.gray.width;
    const [, y0, x1, y1] = box(frame.truth);
    const [, , mx1] = box(modelMask(frame.truth));
    const y = (y0 + y1) / 2;
    const at = (x: number) => [onScreen.x + x * scale, onScreen.y + y * scale] as const;
    await page.mouse.move(...at(mx1 - 10));
    await page.mouse.down();
    await page.mouse.move(...at(x1 - 4), { steps: 12 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Save correction' }).click();
    await page.waitForURL(`${server.url}/scans/${scan.scanId}?done=correction-saved#history`);
    await page.locator('#history tbody tr').nth(1).waitFor();

    assert.match((await page.locator('.flash').first().textContent()) ?? '', /Correction saved/);
    const rows = page.locator('#history tbody tr');
    assert.equal(await rows.count(), 2, 'both results in the history');
    assert.match((await rows.nth(0).textContent()) ?? '', /by hand, on ribeye-seg@2\.3\.0[\s\S]*tech/);
    assert.match((await rows.nth(1).textContent()) ?? '', /ribeye-seg@2\.3\.0[\s\S]*system \(automatic\)/);
    assert.match(
      (await page.locator('#result-title').locator('..').textContent()) ?? '',
      /Corrected by hand by tech/,
    );

    // What the server recorded: a manual result by the technician, larger than the model's (the
    // stroke was added to the model's mask the editor started from), based on the model's result.
    const [row] = await db.sql`
      SELECT created_by, model_name, features_used FROM grading_results
       WHERE scan_id = ${scan.scanId} AND model_name = 'manual'`;
    assert.equal(row!.created_by, technician);
    assert.equal(row!.features_used.lineage.based_on_result_id, scan.resultId);
    const [model] = await db.sql`SELECT features_used FROM grading_results WHERE id = ${scan.resultId}`;
    assert.ok(
      row!.features_used.roi_area_px > model!.features_used.roi_area_px,
      `${row!.features_used.roi_area_px} px > the model's ${model!.features_used.roi_area_px} px`,
    );
    assert.ok(row!.features_used.ribeye_bbox[2] > mx1 + 1, 'reaches into the third the model missed');
    assert.deepEqual(await watch.problems(), []);
    await context.close();
  });
});
