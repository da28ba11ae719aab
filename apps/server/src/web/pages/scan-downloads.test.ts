import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DashboardWorld, useDashboardApp } from './test-dashboard-seed.ts';
import { type PageClient, pageClient } from './test-page-client.ts';

// The scans page's "Download CSV" / "Download GeoJSON" links on a real database: they carry the
// filters the list applies (From/To as the farm's local days turned into instants, invalid filters
// left out as the list leaves them out), and the files they fetch hold exactly the scans listed.

const { ctx, w } = useDashboardApp();
const as = (who: keyof DashboardWorld['users']) => pageClient(ctx.server.app, w.users[who].email);
const rowIds = (html: string) => [...html.matchAll(/<tr data-scan-id="([^"]+)"/g)].map((m) => m[1]!);

/** The href of the link whose text is `text` (entities decoded), or undefined. */
function linkTo(html: string, text: string): string | undefined {
  const m = new RegExp(`<a href="([^"]*)"[^>]*>${text}</a>`).exec(html);
  return m?.[1]?.replace(/&amp;/g, '&');
}

/** The scan ids in the CSV and the GeoJSON the page links to, each sorted. */
async function downloaded(client: PageClient, html: string) {
  const csvHref = linkTo(html, 'Download CSV');
  const geoHref = linkTo(html, 'Download GeoJSON');
  assert.ok(csvHref && geoHref, 'both download links are on the page');
  const csv = await client.get(csvHref);
  assert.equal(csv.status, 200, csv.html);
  // For Excel: the link asks for the UTF-8 byte order mark (Response.text() drops it, so read bytes).
  assert.equal(new URL(csvHref, 'http://x').searchParams.get('bom'), 'true');
  const raw = await ctx.server.app.request(csvHref, { headers: { cookie: client.api.cookie ?? '' } });
  assert.deepEqual([...new Uint8Array(await raw.arrayBuffer()).subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  assert.match(csv.headers.get('content-disposition') ?? '', /^attachment; filename="cti-scans-/);
  const geo = await client.get(geoHref);
  assert.equal(geo.status, 200, geo.html);
  return {
    csvHref,
    geoHref,
    csv: csv.html
      .trim()
      .replace(/^\ufeff/, '')
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(',')[0]!)
      .sort(),
    geo: (JSON.parse(geo.html) as { features: { id: string }[] }).features.map((f) => f.id).sort(),
  };
}

describe('scans list downloads', () => {
  test("the links carry the list's filters, the local From/To days as instants of the farm's zone, and fetch exactly the rows listed", async () => {
    const farmer = await as('farmer');
    // 10–11 September in Toronto (EDT, UTC−4); grade=Z is not a grade: named beside its field, and
    // left out of the list and of the files alike.
    const page = await farmer.get('/scans?from=2025-09-10&to=2025-09-11&grade=Z');
    assert.equal(page.status, 200);
    const listed = rowIds(page.html);
    assert.deepEqual(listed, [w.scanWaiting, w.scanNoSpacing]);
    const files = await downloaded(farmer, page.html);
    const params = Object.fromEntries(new URL(files.geoHref, 'http://x').searchParams);
    assert.deepEqual(params, { from: '2025-09-10T04:00:00.000Z', to: '2025-09-12T04:00:00.000Z' });
    assert.deepEqual(Object.fromEntries(new URL(files.csvHref, 'http://x').searchParams), {
      ...params,
      bom: 'true',
    });
    assert.equal(new URL(files.csvHref, 'http://x').pathname, '/api/v1/exports/scans.csv');
    assert.equal(new URL(files.geoHref, 'http://x').pathname, '/api/v1/exports/scans.geojson');
    assert.deepEqual(files.csv, [...listed].sort());
    assert.deepEqual(files.geo, [...listed].sort());
  });

  test('every other filter of the page reaches the files: farm, animal, status', async () => {
    const farmer = await as('farmer');
    const page = await farmer.get(`/scans?farm_id=${w.farmA}&animal_id=${w.animal}&status=graded`);
    const listed = rowIds(page.html);
    assert.deepEqual(listed, [w.scanNoSpacing, w.scanGraded]);
    const files = await downloaded(farmer, page.html);
    assert.deepEqual(Object.fromEntries(new URL(files.csvHref, 'http://x').searchParams), {
      farm_id: w.farmA,
      animal_id: w.animal,
      status: 'graded',
      bom: 'true',
    });
    assert.deepEqual(files.csv, [...listed].sort());
    assert.deepEqual(files.geo, [...listed].sort());
  });

  test('unfiltered, the files hold every scan the viewer may see, and only those', async () => {
    const admin = await as('admin');
    const page = await admin.get('/scans');
    const files = await downloaded(admin, page.html);
    assert.equal(files.csvHref, '/api/v1/exports/scans.csv?bom=true');
    assert.equal(files.geoHref, '/api/v1/exports/scans.geojson');
    assert.deepEqual(files.csv, [w.scanGraded, w.scanNoSpacing, w.scanWaiting, w.scanB].sort());
    const farmer = await as('farmer');
    const own = await downloaded(farmer, (await farmer.get('/scans')).html);
    assert.deepEqual(own.csv, [w.scanGraded, w.scanNoSpacing, w.scanWaiting].sort(), 'not the other farm');
  });

  test('no scans listed, no download links', async () => {
    const page = await (await as('farmer')).get(`/scans?farm_id=${w.farmB}`);
    assert.equal(page.status, 200);
    assert.deepEqual(rowIds(page.html), []);
    assert.equal(linkTo(page.html, 'Download CSV'), undefined);
    assert.equal(linkTo(page.html, 'Download GeoJSON'), undefined);
  });
});
