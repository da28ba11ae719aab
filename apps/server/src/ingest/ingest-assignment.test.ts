import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { EXAMPLE_MASK_SHA256, exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { sha256, signedInit, useTestApp, withRelayFields } from '../test-helpers.ts';

// Farm assignment, operator mapping, masks and extra files (docs/adr/0001-ingest-schema-decisions.md).

const ctx = useTestApp();
beforeEach(async () => {
  await ctx.server.ingestionLog.flush();
  await ctx.db
    .sql`TRUNCATE notifications, scan_events, grading_jobs, scans, assets, devices, ingestion_log, user_farms, farms, users CASCADE`;
});

async function ingest(meta = exampleMeta(), extra: Record<string, unknown> = {}) {
  const res = await ctx.server.app.request(
    '/ingest/webhook',
    signedInit({ ...exampleWebhookBody({ meta_json: meta }), ...extra }),
  );
  assert.equal(res.status, 201, await res.clone().text());
  const { scan_id } = (await res.json()) as { scan_id: string };
  const [scan] = await ctx.db.sql`SELECT * FROM scans WHERE id = ${scan_id}`;
  const [ingested] = await ctx.db
    .sql`SELECT meta FROM scan_events WHERE scan_id = ${scan_id} AND event = 'ingested'`;
  return { scan: scan!, ingested: ingested!.meta as Record<string, unknown> };
}

/** A square geofence centred on the spec's gps point (lon -79.3832, lat 43.6532), `half` degrees wide. */
async function farmAround(name: string, half: number): Promise<string> {
  const [farm] = await ctx.db.sql`
    INSERT INTO farms (name, geofence)
    VALUES (${name}, ST_Expand(ST_SetSRID(ST_MakePoint(-79.3832, 43.6532), 4326), ${half})::geometry(Polygon, 4326))
    RETURNING id`;
  return farm!.id;
}

describe('farm assignment', () => {
  test('meta.farm_id wins when it names a known farm', async () => {
    const around = await farmAround('Around', 0.1);
    const [named] = await ctx.db.sql`INSERT INTO farms (name) VALUES ('Named') RETURNING id`;
    const { scan, ingested } = await ingest(exampleMeta({ farm_id: named!.id }));
    assert.equal(scan.farm_id, named!.id);
    assert.notEqual(scan.farm_id, around);
    assert.equal(ingested.farm_source, 'meta');
  });

  test("an unknown meta.farm_id falls through to the device's farm and is recorded", async () => {
    const [home] = await ctx.db.sql`INSERT INTO farms (name) VALUES ('Home') RETURNING id`;
    await ctx.db
      .sql`INSERT INTO devices (device_code, label, farm_id) VALUES ('dev-0001', 'North Barn Pi', ${home!.id})`;
    const unknown = '00000000-0000-4000-8000-000000000001';
    const { scan, ingested } = await ingest(exampleMeta({ farm_id: unknown }));
    assert.equal(scan.farm_id, home!.id);
    assert.equal(ingested.farm_source, 'device');
    assert.equal(ingested.unknown_meta_farm_id, unknown);
    const [device] = await ctx.db.sql`SELECT label, captures_count FROM devices`;
    assert.equal(device?.label, 'North Barn Pi', 'an admin-set label is kept');
    assert.equal(device?.captures_count, 1);
  });

  test('otherwise the one farm whose geofence contains the gps point', async () => {
    const around = await farmAround('Around', 0.01);
    await ctx.db.sql`
      INSERT INTO farms (name, geofence)
      VALUES ('Elsewhere', ST_Expand(ST_SetSRID(ST_MakePoint(10, 10), 4326), 1)::geometry(Polygon, 4326))`;
    const { scan, ingested } = await ingest();
    assert.equal(scan.farm_id, around);
    assert.equal(ingested.farm_source, 'geofence');
  });

  test('a point inside several farms’ geofences gets no farm: an event names them, admins are notified', async () => {
    const big = await farmAround('Big', 1);
    const small = await farmAround('Small', 0.01);
    const [admin] = await ctx.db.sql`INSERT INTO users (email) VALUES ('admin@example.com') RETURNING id`;
    const [farmer] = await ctx.db.sql`INSERT INTO users (email) VALUES ('farmer@example.com') RETURNING id`;
    await ctx.db.sql`INSERT INTO user_roles (user_id, role_id)
                     SELECT ${admin!.id}::uuid, id FROM roles WHERE name = 'admin'
                     UNION ALL SELECT ${farmer!.id}::uuid, id FROM roles WHERE name = 'farmer'`;
    await ctx.db
      .sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${farmer!.id}, ${small}, 'farmer')`;
    const { scan, ingested } = await ingest();
    assert.equal(
      scan.farm_id,
      null,
      'smallest-area-wins would let a small fence take the other farm’s scans',
    );
    assert.equal(ingested.farm_source, null);
    assert.equal(ingested.geofence_ambiguous, true);
    const events = await ctx.db
      .sql`SELECT meta FROM scan_events WHERE scan_id = ${scan.id} AND event = 'farm_ambiguous'`;
    assert.deepEqual(events[0]?.meta, {
      candidate_farms: [
        { id: big, name: 'Big' },
        { id: small, name: 'Small' },
      ],
    });
    const notes = await ctx.db.sql`SELECT user_id, type, payload FROM notifications`;
    assert.deepEqual(
      notes.map((n) => [n.user_id, n.type, n.payload.scan_id, n.payload.candidate_farms.length]),
      [[admin!.id, 'scan_farm_ambiguous', scan.id, 2]],
      'admins only: the farm’s users cannot see a scan without a farm',
    );
  });

  test('the device’s farm still wins over ambiguous geofences, and then nothing is flagged', async () => {
    await farmAround('Big', 1);
    const small = await farmAround('Small', 0.01);
    await ctx.db.sql`INSERT INTO devices (device_code, farm_id) VALUES ('dev-0001', ${small})`;
    const { scan, ingested } = await ingest();
    assert.equal(scan.farm_id, small);
    assert.equal(ingested.farm_source, 'device');
    const [n] = await ctx.db.sql`SELECT count(*)::int AS n FROM scan_events WHERE event = 'farm_ambiguous'`;
    assert.equal(n!.n, 0);
  });

  test('no farm when nothing matches, or when there is no gps', async () => {
    await ctx.db.sql`
      INSERT INTO farms (name, geofence)
      VALUES ('Elsewhere', ST_Expand(ST_SetSRID(ST_MakePoint(10, 10), 4326), 1)::geometry(Polygon, 4326))`;
    const { scan } = await ingest();
    assert.equal(scan.farm_id, null);
    await farmAround('Around', 0.1);
    const noGps = await ingest(exampleMeta({ capture_id: 'cap_nogps', gps: null }));
    assert.equal(noGps.scan.farm_id, null);
    assert.equal(noGps.scan.gps, null);
    assert.equal(noGps.ingested.farm_source, null);
  });
});

describe('operator mapping', () => {
  test('an operator code maps to the user who owns it; the code is kept either way', async () => {
    const [user] = await ctx.db.sql`
      INSERT INTO users (email, full_name, operator_code) VALUES ('tech@example.com', 'Tech', 'tech-abc') RETURNING id`;
    const { scan, ingested } = await ingest();
    assert.equal(scan.operator_id, user!.id);
    assert.equal(scan.operator_code, 'tech-abc');
    assert.equal(ingested.operator_matched, true);
  });

  test('codes are matched exactly (case-sensitive); no match leaves operator_id null', async () => {
    await ctx.db.sql`INSERT INTO users (email, operator_code) VALUES ('t@example.com', 'TECH-ABC')`;
    const { scan } = await ingest();
    assert.equal(scan.operator_id, null);
    assert.equal(scan.operator_code, 'tech-abc');
  });

  test('two users cannot share an operator code', async () => {
    await ctx.db.sql`INSERT INTO users (email, operator_code) VALUES ('a@example.com', 'tech-1')`;
    await assert.rejects(
      ctx.db.sql`INSERT INTO users (email, operator_code) VALUES ('b@example.com', 'tech-1')`,
      { code: '23505' },
    );
  });
});

describe('assets', () => {
  test('mask and extra files: hashed ones get rows, unhashed ones are listed on the uploaded event', async () => {
    const meta = exampleMeta({
      mask_sha256: EXAMPLE_MASK_SHA256,
      files: { image_relpath: 'image.jpg', mask_relpath: 'mask.png', extra: ['frames.csv', 'notes.txt'] },
    });
    const base = withRelayFields(exampleWebhookBody({ meta_json: meta }), 'mask');
    const details = base.object_details!.map((d) =>
      d.name === 'frames.csv' ? { ...d, sha256: sha256('frames') } : d,
    );
    const { scan } = await ingest(meta, { ...base, object_details: details });
    const assets = await ctx.db.sql`SELECT object_key, sha256, mime_type FROM assets ORDER BY object_key`;
    const names = assets.map((a) => a.object_key.split('/').at(-1));
    assert.deepEqual(names, ['frames.csv', 'image.jpg', 'mask.png', 'meta.json']);
    const mask = assets.find((a) => a.object_key.endsWith('mask.png'));
    assert.equal(mask?.sha256, EXAMPLE_MASK_SHA256);
    assert.equal(mask?.mime_type, 'image/png');
    assert.equal(assets.find((a) => a.object_key.endsWith('frames.csv'))?.mime_type, 'text/csv');
    const [maskRow] = await ctx.db.sql`SELECT id FROM assets WHERE object_key LIKE '%/mask.png'`;
    assert.equal(scan.mask_asset_id, maskRow?.id);
    const [uploaded] = await ctx.db.sql`SELECT meta FROM scan_events WHERE event = 'uploaded'`;
    assert.deepEqual(uploaded?.meta.unhashed_objects, ['notes.txt']);
  });
});
