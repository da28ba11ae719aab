import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clientsByEmail } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser, squareAround } from '../test-seed.ts';
import { type PageClient, pageClient, textById } from '../web/pages/test-page-client.ts';

// Review r1 F12: a technician drew their farm's geofence inside another farm and so took that farm's
// incoming scans (ingest attributes by geofence). A non-admin's fence may not cover another farm's
// fenced land; the check and the write are one transaction serialised against other farm writes.

const f = {} as Record<'A' | 'B' | 'C', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      // Three disjoint squares 0.02° wide, 0.05° apart.
      f.A = await seedFarm(db.sql, 'Alpha Farm', { lon: -80, lat: 44 });
      f.B = await seedFarm(db.sql, 'Beta Ranch', { lon: -80.05, lat: 44 });
      f.C = await seedFarm(db.sql, 'Gamma Acres', { lon: -80.1, lat: 44 });
      await seedUser(db.sql, 'techa@example.com', ['technician'], { farms: [{ id: f.A }] });
      await seedUser(db.sql, 'techab@example.com', ['technician'], { farms: [{ id: f.A }, { id: f.B }] });
      await seedUser(db.sql, 'admin@example.com', ['admin']);
    },
  },
);

const as = clientsByEmail(() => ctx.server.app);

const fenceOf = async (id: string) =>
  (await ctx.db.sql`SELECT ST_AsText(geofence) AS t FROM farms WHERE id = ${id}`)[0]!.t as string;
const setFence = (id: string, fence: unknown) =>
  ctx.db.sql`UPDATE farms SET geofence = ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(fence)}), 4326)
              WHERE id = ${id}`;
const resetA = () => setFence(f.A, squareAround(-80, 44));

/** A small square inside farm B, where its scans are taken. */
const insideB = squareAround(-80.05, 44, 0.001);

describe('a geofence over another farm’s land', () => {
  test('is refused to a technician: 422 naming /geofence, not the farm they cannot see; nothing written', async () => {
    await resetA();
    const before = await fenceOf(f.A);
    const res = await (await as('techa@example.com')).request('PATCH', `/api/v1/farms/${f.A}`, {
      body: { geofence: insideB },
    });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.error, 'geofence_overlap');
    assert.deepEqual(
      res.body.problems.map((p: { pointer: string }) => p.pointer),
      ['/geofence'],
    );
    assert.match(res.body.problems[0].message, /overlaps the geofence of another farm/);
    assert.doesNotMatch(res.text, /Beta|Gamma/, 'a farm the caller cannot see is never named');
    assert.equal(await fenceOf(f.A), before);
  });

  test('names the other farm to a technician who may see it', async () => {
    await resetA();
    const res = await (await as('techab@example.com')).request('PATCH', `/api/v1/farms/${f.A}`, {
      body: { geofence: squareAround(-80.075, 44, 0.03) },
    });
    assert.equal(res.status, 422, res.text);
    assert.match(res.body.problems[0].message, /"Beta Ranch", another farm:/);
  });

  test('a fence that only touches another one (a shared boundary) is fine', async () => {
    await resetA();
    // Farm B spans longitude -80.06 … -80.04: this square ends exactly there.
    const touching = {
      type: 'Polygon',
      coordinates: [
        [
          [-80.04, 43.99],
          [-79.99, 43.99],
          [-79.99, 44.01],
          [-80.04, 44.01],
          [-80.04, 43.99],
        ],
      ],
    };
    const res = await (await as('techa@example.com')).request('PATCH', `/api/v1/farms/${f.A}`, {
      body: { geofence: touching },
    });
    assert.equal(res.status, 200, res.text);
  });

  test('an admin may overlap; the technician may then keep or shrink that overlap, not grow it', async () => {
    await resetA();
    const overlapping = squareAround(-80.04, 44, 0.005);
    const admin = await as('admin@example.com');
    const set = await admin.request('PATCH', `/api/v1/farms/${f.A}`, { body: { geofence: overlapping } });
    assert.equal(set.status, 200, set.text);
    const tech = await as('techa@example.com');
    const rename = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
      body: { name: 'Alpha Farm', geofence: overlapping },
    });
    assert.equal(rename.status, 200, rename.text);
    const shrink = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
      body: { geofence: squareAround(-80.04, 44, 0.004) },
    });
    assert.equal(shrink.status, 200, shrink.text);
    const grow = await tech.request('PATCH', `/api/v1/farms/${f.A}`, { body: { geofence: overlapping } });
    assert.equal(grow.status, 422, grow.text);
  });

  test('a concurrent fence edit is waited for, then checked against (no race past the check)', async () => {
    await resetA();
    // Another edit in flight: farm C's fence moved over the spot farm A's technician is about to take.
    let updated!: () => void;
    let release!: () => void;
    const didUpdate = new Promise<void>((r) => (updated = r));
    const held = new Promise<void>((r) => (release = r));
    const other = ctx.db.sql.begin(async (tx) => {
      await tx`UPDATE farms SET geofence = ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(
        squareAround(-80.02, 44.03, 0.002),
      )}), 4326) WHERE id = ${f.C}`;
      updated();
      await held;
    });
    await didUpdate;
    let answered = false;
    const patch = (await as('techa@example.com'))
      .request('PATCH', `/api/v1/farms/${f.A}`, { body: { geofence: squareAround(-80.02, 44.02, 0.02) } })
      .finally(() => (answered = true));
    await sleep(300);
    assert.equal(answered, false, 'the edit waits for the other farm write to finish');
    release();
    await other;
    const res = await patch;
    assert.equal(res.status, 422, res.text);
    await ctx.db.sql`UPDATE farms SET geofence = ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(
      squareAround(-80.1, 44),
    )}), 4326) WHERE id = ${f.C}`;
  });

  test('the farm page shows the refusal beside the Geofence field', async () => {
    await resetA();
    const tech = await pageClient(ctx.server.app, 'techa@example.com');
    const res = await tech.post(`/farms/${f.A}`, { name: 'Alpha Farm', geofence: JSON.stringify(insideB) });
    assert.equal(res.status, 422);
    assert.match(textById(res.html, 'field-geofence-error') ?? '', /overlaps the geofence of another farm/);
    assert.doesNotMatch(res.html, /Beta Ranch/);
  });
});

// Review r5 F1: fences loaded from a GIS file carry 15–17 significant digits; GET /farms/{id} and the
// farm page render 9 decimals, so a technician's save re-sends every vertex moved by up to 5e-10°. That
// is the same fence: kept overlaps and shared boundaries stay allowed, a real grab does not.

/** A rectangle [west, south, east, north] as a GeoJSON Polygon. */
const box = (w: number, s: number, e: number, n: number) => ({
  type: 'Polygon',
  coordinates: [
    [
      [w, s],
      [e, s],
      [e, n],
      [w, n],
      [w, s],
    ],
  ],
});
/** The geofence the farm page's form holds, as the browser sends it back. */
const renderedFence = async (page: PageClient, id: string) =>
  textById((await page.get(`/farms/${id}`)).html, 'field-geofence') ?? '';

describe('a fence at GIS precision, re-sent as the API and the page render it', () => {
  const y0 = 43.98765432109876;
  const y1 = 44.01234567890123;

  test('an admin-drawn overlap: the technician renames the farm on the page and re-saves what GET returned', async () => {
    // Reaches about 0.0057° into Beta Ranch (-80.06 … -80.04); its west edge rounds westwards, into Beta.
    await setFence(f.A, box(-80.04567891264567, y0, -79.98765432109876, y1));
    try {
      const page = await pageClient(ctx.server.app, 'techa@example.com');
      const rendered = await renderedFence(page, f.A);
      assert.match(rendered, /-80\.045678913\b/, 'rendered with 9 decimals');
      const renamed = await page.post(`/farms/${f.A}`, { name: 'Alpha Farm (north)', geofence: rendered });
      assert.equal(renamed.status, 303, textById(renamed.html, 'field-geofence-error'));
      const tech = await as('techa@example.com');
      const got = await tech.request('GET', `/api/v1/farms/${f.A}`);
      const resaved = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
        body: { name: 'Alpha Farm', geofence: got.body.geofence },
      });
      assert.equal(resaved.status, 200, resaved.text);
      // The map editor writes 7 decimals: the north edge moves 2e-8° north, along 0.0057° inside Beta.
      const mapped = box(-80.04567891264567, y0, -79.98765432109876, y1);
      mapped.coordinates = mapped.coordinates.map((ring) =>
        ring.map((p) => p.map((n) => Number(n.toFixed(7)))),
      );
      const edited = await tech.request('PATCH', `/api/v1/farms/${f.A}`, { body: { geofence: mapped } });
      assert.equal(edited.status, 200, edited.text);
      // Growing that overlap by a strip 1 m wide (1.3e-5° of longitude) along its 2.7 km edge is a grab.
      const grown = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
        body: { geofence: box(-80.04569191264567, y0, -79.98765432109876, y1) },
      });
      assert.equal(grown.status, 422, grown.text);
      assert.equal(grown.body.error, 'geofence_overlap');
    } finally {
      await resetA();
    }
  });

  test('neighbours sharing a fence line exactly: the technician renames the farm on the page', async () => {
    const x = -80.04012345678912; // the shared line, as a cadastral export writes it
    await setFence(f.A, box(x, y0, -79.98765432109876, y1));
    await setFence(f.B, box(-80.06, y0, x, y1));
    try {
      const [stored] = await ctx.db.sql`
        SELECT ST_Area(ST_Intersection(a.geofence, b.geofence)) AS overlap FROM farms a, farms b
         WHERE a.id = ${f.A} AND b.id = ${f.B}`;
      assert.equal(stored!.overlap, 0);
      const page = await pageClient(ctx.server.app, 'techa@example.com');
      const renamed = await page.post(`/farms/${f.A}`, {
        name: 'Alpha Farm (renamed)',
        geofence: await renderedFence(page, f.A),
      });
      assert.equal(renamed.status, 303, textById(renamed.html, 'field-geofence-error'));
      const tech = await as('techa@example.com');
      const got = await tech.request('GET', `/api/v1/farms/${f.A}`);
      const resaved = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
        body: { name: 'Alpha Farm', geofence: got.body.geofence },
      });
      assert.equal(resaved.status, 200, resaved.text);
      // Moving the shared line 1 m into the neighbour's land is not rounding.
      const grab = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
        body: { geofence: box(x - 1.3e-5, y0, -79.98765432109876, y1) },
      });
      assert.equal(grab.status, 422, grab.text);
      // Review r6 F1: one centimetre per save (under the 1e-7° slack) must not add up. Each save moves the
      // stored line's west edge 0.8e-7° west (what GET returned, shifted); each is snapped back onto the
      // stored line: accepted, and nothing of the neighbour's land is taken however often it is done.
      const westOf = (fence: { coordinates: number[][][] }) =>
        Math.min(...fence.coordinates[0]!.map((p) => p[0]!));
      for (let step = 1; step <= 12; step++) {
        const stored = (await tech.request('GET', `/api/v1/farms/${f.A}`)).body.geofence;
        const crept = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
          body: { geofence: box(westOf(stored) - 0.8e-7, y0, -79.98765432109876, y1) },
        });
        assert.equal(crept.status, 200, crept.text);
      }
      const [taken] = await ctx.db.sql`
        SELECT ST_Area(ST_Intersection(a.geofence, b.geofence)::geography) AS m2 FROM farms a, farms b
         WHERE a.id = ${f.A} AND b.id = ${f.B}`;
      assert.ok(taken!.m2 < 0.01, `${taken!.m2} m² of the neighbour taken by 12 one-centimetre saves`);
      // The 12 steps at once (about 7.5 cm along the whole line) are a grab.
      const jump = await tech.request('PATCH', `/api/v1/farms/${f.A}`, {
        body: { geofence: box(x - 12 * 0.8e-7, y0, -79.98765432109876, y1) },
      });
      assert.equal(jump.status, 422, jump.text);
    } finally {
      await resetA();
      await setFence(f.B, squareAround(-80.05, 44));
    }
  });
});
