import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../../test-seed.ts';
import { distanceM, fromSvg, type LonLat, type Viewport } from '../map/projection.ts';
import { type BrowserApp, startBrowserApp, watchPage } from '../test-browser.ts';

// Drawing a farm's geofence on its map in headless Chromium (static/js/geofence-editor.js on the real
// farm pages, real app on a port, Postgres with the real migrations): clicks add corners, a drag moves
// one, Undo takes the last edit back, Save stores exactly the drawn polygon; a crossing drawing is
// warned about and refused by the server beside the field; keys and "Use my location" draw too. Where a
// pixel lands on the ground is computed here with the map's own projection (fromSvg) from the viewport
// the server wrote on the map and the SVG's viewBox at that moment.

let db: TestDatabase;
let running: BrowserApp;
let server: BrowserApp['server'];
let browser: Browser;
let farm: string;

const LON = -79.38;
const LAT = 43.65;

before(async () => {
  db = await createTestDatabase();
  farm = await seedFarm(db.sql, 'Maple Farm', { lon: LON, lat: LAT });
  const device = await seedDevice(db.sql, 'dev-geo', farm);
  await seedScan(db.sql, { deviceId: device, farmId: farm, gps: { lon: LON, lat: LAT } });
  await seedUser(db.sql, 'tech@example.com', ['technician'], { farms: [{ id: farm }] });
  await seedUser(db.sql, 'admin@example.com', ['admin']);
  running = await startBrowserApp(db.sql);
  ({ server, browser } = running);
});
after(async () => {
  await running?.close();
  await db?.drop();
});

async function signedIn(email: string, path: string, options: BrowserContextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1200 }, ...options });
  const page = await context.newPage();
  const watch = await watchPage(page);
  await page.goto(`${server.url}/sign-in?next=${encodeURIComponent(path)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}${path}`);
  await page.waitForSelector('[data-geofence-editor][data-ready="true"]');
  return { context, page, watch };
}

/** The map as the test sees it: screen pixel → ground lon/lat, and fractions of the map → pixels. */
async function mapGeometry(page: Page) {
  const svg = page.locator('.geofence-stage svg.map-svg');
  await svg.scrollIntoViewIfNeeded();
  const box = (await svg.boundingBox())!;
  const m = (await page.evaluate(
    `(() => { const s = document.querySelector('.geofence-stage svg.map-svg');
      const g = s.querySelector('.map-view').dataset; const b = s.viewBox.baseVal;
      return { left: s.clientLeft, top: s.clientTop, width: s.clientWidth, height: s.clientHeight,
               scale: +g.scale, originX: +g.originX, originY: +g.originY, vb: [b.x, b.y, b.width, b.height] }; })()`,
  )) as {
    left: number;
    top: number;
    width: number;
    height: number;
    scale: number;
    originX: number;
    originY: number;
    vb: [number, number, number, number];
  };
  const content = { x: box.x + m.left, y: box.y + m.top, w: m.width, h: m.height };
  const v: Viewport = {
    width: 640,
    height: 420,
    scale: m.scale,
    originX: m.originX,
    originY: m.originY,
    metresPerUnit: 0,
  };
  const [vx, vy, vw, vh] = m.vb;
  const lonLatAt = (px: number, py: number): LonLat =>
    fromSvg(v, [vx + ((px - content.x) * vw) / content.w, vy + ((py - content.y) * vh) / content.h]);
  const at = (fx: number, fy: number) =>
    [Math.round(content.x + fx * content.w), Math.round(content.y + fy * content.h)] as const;
  // Ground metres of one screen pixel here: the tolerance of a click.
  const [cx, cy] = at(0.5, 0.5);
  const pxMetres = distanceM(lonLatAt(cx, cy), lonLatAt(cx + 1, cy));
  return { at, lonLatAt, pxMetres };
}

const outer = async (sql: TestDatabase['sql'], id: string) => {
  const [row] = await sql<{ g: { coordinates: number[][][] } | null }[]>`
    SELECT ST_AsGeoJSON(geofence)::json AS g FROM farms WHERE id = ${id}`;
  return row!.g?.coordinates[0] ?? null;
};

function assertRing(stored: number[][] | null, expected: readonly LonLat[], toleranceM: number) {
  assert.ok(stored, 'a geofence is stored');
  assert.equal(stored.length, expected.length + 1, 'closed ring of the drawn corners');
  assert.deepEqual(stored[0], stored[stored.length - 1]);
  expected.forEach((p, i) => {
    const off = distanceM(p, stored[i] as unknown as LonLat);
    assert.ok(off < toleranceM, `corner ${i + 1}: ${stored[i]} is ${off.toFixed(2)} m from ${p}`);
  });
}

describe('drawing a geofence on the farm map', { timeout: 120_000 }, () => {
  test('clicks draw a triangle, a drag moves a corner, Undo removes the last one; Save stores that polygon', async () => {
    const { context, page, watch } = await signedIn('tech@example.com', `/farms/${farm}`);
    const textarea = page.locator('#field-geofence');
    const undo = page.getByRole('button', { name: 'Undo' });
    assert.equal(await undo.getAttribute('aria-disabled'), 'true', 'nothing to undo yet');
    await page.getByRole('button', { name: 'Clear' }).click();
    assert.equal(await undo.getAttribute('aria-disabled'), 'false');
    assert.equal(await textarea.inputValue(), '');
    const map = await mapGeometry(page);
    const [a, b, c, d] = [map.at(0.3, 0.3), map.at(0.7, 0.35), map.at(0.5, 0.75), map.at(0.2, 0.8)];
    for (const p of [a, b, c]) await page.mouse.click(...p);
    assert.equal(await page.locator('.geofence-draft .corner').count(), 3);
    // Drag the second corner to a new place.
    const b2 = map.at(0.8, 0.6);
    await page.mouse.move(...b);
    await page.mouse.down();
    await page.mouse.move(...b2, { steps: 8 });
    await page.mouse.up();
    // A fourth corner, then Undo takes it back (the drag stays).
    await page.mouse.click(...d);
    assert.equal(await page.locator('.geofence-draft .corner').count(), 4);
    await page.getByRole('button', { name: 'Undo' }).click();
    assert.equal(await page.locator('.geofence-draft .corner').count(), 3);
    assert.equal(await page.locator('.geofence-warning').isVisible(), false);

    const expected = [map.lonLatAt(...a), map.lonLatAt(...b2), map.lonLatAt(...c)];
    const typed = JSON.parse(await textarea.inputValue());
    assert.equal(typed.type, 'Polygon');
    assertRing(typed.coordinates[0], expected, map.pxMetres);

    await page.getByRole('button', { name: 'Save farm' }).click();
    await page.waitForURL(`${server.url}/farms/${farm}?done=farm-saved`);
    assertRing(await outer(db.sql, farm), expected, map.pxMetres);
    // The page comes back with the saved triangle in the editor.
    await page.waitForSelector('[data-geofence-editor][data-ready="true"]');
    assert.equal(await page.locator('.geofence-draft .corner').count(), 3);
    assert.deepEqual(await watch.problems(), []);
    await context.close();
  });

  test('a drawing whose edges cross is warned about, and the server refuses it beside the field', async () => {
    const before = await outer(db.sql, farm);
    const { context, page, watch } = await signedIn('tech@example.com', `/farms/${farm}`);
    await page.getByRole('button', { name: 'Clear' }).click();
    const map = await mapGeometry(page);
    // A bow tie: top-left, bottom-right, top-right, bottom-left.
    for (const p of [map.at(0.3, 0.3), map.at(0.7, 0.7), map.at(0.7, 0.3), map.at(0.3, 0.7)]) {
      await page.mouse.click(...p);
    }
    const warning = page.locator('.geofence-warning');
    assert.equal(await warning.isVisible(), true);
    assert.match((await warning.textContent()) ?? '', /Two edges of the geofence cross/);
    await page.getByRole('button', { name: 'Save farm' }).click();
    const error = page.locator('#field-geofence-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /Geofence is not a valid polygon: Self-intersection/);
    assert.deepEqual(await outer(db.sql, farm), before, 'nothing written');
    // The refused drawing is still on the map (read from the textarea), to be fixed.
    await page.waitForSelector('[data-geofence-editor][data-ready="true"]');
    assert.equal(await page.locator('.geofence-draft .corner').count(), 4);
    assert.equal(await warning.isVisible(), true);
    // Removing a corner (select it, "Remove corner") leaves a triangle: no warning.
    await page.getByRole('button', { name: 'Select next corner' }).click();
    await page.getByRole('button', { name: 'Remove corner' }).click();
    assert.equal(await page.locator('.geofence-draft .corner').count(), 3);
    assert.equal(await warning.isVisible(), false);
    // Text typed into the textarea is drawn when it parses (here a geojson.io Feature of a square).
    const square = [
      [LON - 0.002, LAT - 0.002],
      [LON + 0.002, LAT - 0.002],
      [LON + 0.002, LAT + 0.002],
      [LON - 0.002, LAT + 0.002],
      [LON - 0.002, LAT - 0.002],
    ];
    const feature = { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [square] } };
    await page.locator('#field-geofence').fill(JSON.stringify(feature));
    assert.equal(await page.locator('.geofence-draft .corner').count(), 4);
    await page.locator('#field-geofence').fill('{"type": "Polygon",');
    assert.equal(
      await page.locator('.geofence-draft .corner').count(),
      4,
      'half-typed text: the map keeps the shape',
    );
    assert.match((await warning.textContent()) ?? '', /not a polygon the map can show/);
    // The 422 page itself is logged by Chromium as a failed load; anything else is a problem.
    assert.deepEqual(
      (await watch.problems()).filter((p) => !/status of 422 .*\/farms\//.test(p)),
      [],
    );
    await context.close();
  });

  test('on a phone, as an admin creating a farm: Use my location, keys and a tap draw it; Create farm stores it', async () => {
    const here: LonLat = [151.2093, -33.8688];
    const { context, page, watch } = await signedIn('admin@example.com', '/farms', {
      viewport: { width: 390, height: 844 },
      hasTouch: true,
      isMobile: true,
      geolocation: { longitude: here[0], latitude: here[1], accuracy: 12 },
      permissions: ['geolocation'],
    });
    await page.getByLabel('Name').fill('Wattle Farm');
    await page.getByRole('button', { name: 'Use my location' }).tap();
    const readout = page.locator('.geofence-readout');
    await page.locator('.geofence-readout', { hasText: 'Your location' }).waitFor();
    assert.equal(await readout.textContent(), 'Your location: 33.868800° S, 151.209300° E');
    // Keyboard: Tab from the last tool reaches the map, whose focus is visible.
    await page.getByRole('button', { name: 'Fit to the drawing' }).focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate("document.activeElement.classList.contains('geofence-stage')"), true);
    assert.equal(
      await page.evaluate("getComputedStyle(document.querySelector('.geofence-stage svg')).outlineStyle"),
      'solid',
    );
    await page.keyboard.press('Enter'); // corner 1 at the centre (the location)…
    for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowRight'); // …moved 30 px east
    await page.keyboard.press('Enter'); // corner 2 at the centre…
    for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowDown'); // …moved 30 px south
    await page.keyboard.press('Enter'); // a third corner at the centre, removed by Delete…
    await page.keyboard.press('Delete');
    await page.keyboard.press('Control+z'); // …back by Ctrl+Z, removed again by Delete
    assert.equal(await page.locator('.geofence-draft .corner').count(), 3);
    await page.keyboard.press('Delete');
    const map = await mapGeometry(page);
    const tap = map.at(0.25, 0.3);
    await page.touchscreen.tap(...tap); // corner 3 where the finger is
    assert.equal(await page.locator('.geofence-draft .corner').count(), 3);

    await page.getByRole('button', { name: 'Create farm' }).click();
    await page.waitForURL(/\/farms\/[0-9a-f-]{36}\?done=farm-created$/);
    const id = page.url().match(/farms\/([0-9a-f-]{36})/)![1]!;
    const ring = (await outer(db.sql, id))!;
    assert.equal(ring.length, 4);
    const [c1, c2, c3] = ring as unknown as LonLat[];
    const thirty = 30 * map.pxMetres;
    assert.ok(Math.abs(c1![1] - here[1]) < 1e-6 && c1![0] > here[0], `corner 1 due east: ${c1}`);
    assert.ok(Math.abs(distanceM(c1!, here) / thirty - 1) < 0.05, `${distanceM(c1!, here)} m vs ${thirty} m`);
    assert.ok(Math.abs(c2![0] - here[0]) < 1e-6 && c2![1] < here[1], `corner 2 due south: ${c2}`);
    assert.ok(Math.abs(distanceM(c2!, here) / thirty - 1) < 0.05);
    assert.ok(distanceM(c3!, map.lonLatAt(...tap)) < map.pxMetres, `corner 3 under the tap: ${c3}`);
    assert.deepEqual(await watch.problems(), []);
    await context.close();
  });

  test('without JavaScript the tools stay hidden and the textarea alone saves the geofence', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.url}/sign-in?next=/farms/${farm}`);
    await page.getByLabel('Email').fill('tech@example.com');
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/farms/${farm}`);
    assert.equal(await page.getByRole('button', { name: 'Undo' }).isVisible(), false);
    assert.equal(
      await page.locator('.geofence-stage svg .geofence').count(),
      1,
      'the saved geofence is drawn',
    );
    const triangle = [
      [LON, LAT],
      [-79.379, LAT],
      [LON, 43.651],
      [LON, LAT],
    ];
    await page.locator('#field-geofence').fill(JSON.stringify({ type: 'Polygon', coordinates: [triangle] }));
    await page.getByRole('button', { name: 'Save farm' }).click();
    await page.waitForURL(`${server.url}/farms/${farm}?done=farm-saved`);
    assert.deepEqual(await outer(db.sql, farm), triangle);
    await context.close();
  });
});
