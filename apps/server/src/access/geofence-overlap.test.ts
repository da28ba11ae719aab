import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { clientsByEmail } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser, squareAround } from '../test-seed.ts';
import { pageClient, textById } from '../web/pages/test-page-client.ts';

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
const resetA = () =>
  ctx.db.sql`UPDATE farms SET geofence = ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(
    squareAround(-80, 44),
  )}), 4326) WHERE id = ${f.A}`;

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
