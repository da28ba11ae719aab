import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { testConfig } from '../../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../../test-seed.ts';
import { type BrowserApp, startBrowserApp, watchPage } from '../test-browser.ts';

// The geofence editor's view in headless Chromium: zooming keeps a true scale bar and a graticule
// labelled in degrees (the plain map, no tile server), and with CTI_MAP_TILE_URL set the tiles of the
// new view are fetched at the new zoom level from the tile server (a real HTTP server here), allowed
// by the page's CSP.

let db: TestDatabase;
let running: BrowserApp;
let server: BrowserApp['server'];
let tileServer: Server;
let browser: Browser;
let farm: string;
const tileRequests: string[] = [];

before(async () => {
  db = await createTestDatabase();
  farm = await seedFarm(db.sql, 'Tiled Farm', { lon: -79.38, lat: 43.65 });
  await seedUser(db.sql, 'tech@example.com', ['technician'], { farms: [{ id: farm }] });
  const png = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#dde8cc' } })
    .png()
    .toBuffer();
  tileServer = createServer((req, res) => {
    tileRequests.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'image/png' }).end(png);
  });
  await new Promise<void>((resolve) => tileServer.listen(0, '127.0.0.1', resolve));
  const tilePort = (tileServer.address() as AddressInfo).port;
  running = await startBrowserApp(db.sql, {
    web: { mapTileUrl: `http://127.0.0.1:${tilePort}/{z}/{x}/{y}.png`, mapTileAttribution: '© test tiles' },
  });
  assert.ok(testConfig().web.mapTileUrl === undefined, 'only this app has tiles');
  ({ server, browser } = running);
});
after(async () => {
  await running?.close();
  await new Promise((resolve) => tileServer?.close(resolve));
  await db?.drop();
});

async function openEditor(page: Page) {
  await page.goto(`${server.url}/sign-in?next=/farms/${farm}`);
  await page.getByLabel('Email').fill('tech@example.com');
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/farms/${farm}`);
  await page.waitForSelector('[data-geofence-editor][data-ready="true"]');
  await page.waitForLoadState('networkidle');
}

const tileZooms = async (page: Page) =>
  new Set(
    (
      await page
        .locator('.map-tiles image')
        .evaluateAll((imgs) => imgs.map((i) => i.getAttribute('href') ?? ''))
    ).map((href) => Number(href.match(/:\d+\/(\d+)\//)![1])),
  );
const barMetres = async (page: Page) =>
  Number(await page.locator('.scale-bar path').getAttribute('data-metres'));

describe('the geofence editor’s map view', { timeout: 60_000 }, () => {
  test('Zoom in: a shorter scale bar, finer graticule labels, tiles of the next zoom level', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 1200 } });
    const page = await context.newPage();
    const watch = await watchPage(page);
    await openEditor(page);
    const [z] = [...(await tileZooms(page))];
    assert.ok(z !== undefined && z > 10, `one zoom level of tiles: ${z}`);
    const bar = await barMetres(page);
    const labels = await page.locator('.graticule text').allTextContents();
    assert.ok(labels.length >= 4, labels.join());
    assert.ok(labels.some((l) => / W$/.test(l)) && labels.some((l) => / N$/.test(l)), labels.join());

    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.waitForLoadState('networkidle');
    assert.deepEqual([...(await tileZooms(page))], [z + 1], 'the tiles of the new view, one level closer');
    assert.ok(
      tileRequests.some((r) => r.startsWith(`/${z + 1}/`)),
      'fetched from the tile server',
    );
    assert.ok((await barMetres(page)) < bar, `scale bar ${await barMetres(page)} m after ${bar} m`);
    // The tiles' attribution is still in the map's corner, the same size on screen.
    const map = (await page.locator('.geofence-stage svg').boundingBox())!;
    const credit = (await page.locator('.map-attribution').boundingBox())!;
    assert.ok(
      credit.x > map.x + map.width / 2 && credit.x + credit.width <= map.x + map.width + 1,
      JSON.stringify({ map, credit }),
    );
    assert.ok(credit.y > map.y + map.height - 30 && credit.height < 20, JSON.stringify({ map, credit }));
    const after = await page.locator('.graticule text').allTextContents();
    assert.notDeepEqual(after, labels);
    assert.deepEqual(await watch.problems(), [], 'no CSP violation: the tile host is in img-src');
    await context.close();
  });

  test('fingers and wheel: a pinch zooms and a one-finger drag pans without adding corners; the wheel zooms out', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      hasTouch: true,
      isMobile: true,
    });
    const page = await context.newPage();
    const watch = await watchPage(page);
    await openEditor(page);
    const corners = () => page.locator('.geofence-draft .corner').count();
    const readout = () => page.locator('.geofence-readout').textContent();
    assert.equal(await corners(), 4, 'the saved square');
    const svg = page.locator('.geofence-stage svg');
    await svg.scrollIntoViewIfNeeded();
    const box = (await svg.boundingBox())!;
    const cdp = await context.newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', points: [number, number][]) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        touchPoints: points.map(([x, y], id) => ({ x: box.x + x, y: box.y + y, id })),
      });
    const [cx, cy] = [box.width / 2, box.height / 2];
    const bar = await barMetres(page);
    await touch('touchStart', [
      [cx - 20, cy],
      [cx + 20, cy],
    ]);
    for (const d of [60, 100, 140]) {
      await touch('touchMove', [
        [cx - d / 2, cy],
        [cx + d / 2, cy],
      ]);
    }
    await touch('touchEnd', []);
    assert.ok((await barMetres(page)) < bar, `pinched: ${await barMetres(page)} m after ${bar} m`);
    const centre = await readout();
    await touch('touchStart', [[cx, cy]]);
    for (const dx of [10, 30, 60]) await touch('touchMove', [[cx + dx, cy]]);
    await touch('touchEnd', []);
    assert.notEqual(await readout(), centre, 'panned');
    assert.equal(await corners(), 4, 'no corner added by the pinch or the drag');
    // A tap still adds one.
    await page.touchscreen.tap(box.x + cx, box.y + cy);
    assert.equal(await corners(), 5);

    const desk = await browser.newContext({ viewport: { width: 1000, height: 1200 } });
    const deskPage = await desk.newPage();
    await openEditor(deskPage);
    const deskSvg = (await deskPage.locator('.geofence-stage svg').boundingBox())!;
    const before = await barMetres(deskPage);
    await deskPage.mouse.move(deskSvg.x + deskSvg.width / 2, deskSvg.y + deskSvg.height / 2);
    await deskPage.mouse.wheel(0, 400);
    await deskPage.waitForFunction(() => true); // a round trip to the page, after the wheel event
    assert.ok(
      (await barMetres(deskPage)) > before,
      `wheel: ${await barMetres(deskPage)} m after ${before} m`,
    );
    assert.deepEqual(await watch.problems(), []);
    await desk.close();
    await context.close();
  });
});
