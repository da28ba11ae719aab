import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from './testing.ts';

// Spec §5.4 "Server mapping → rows", verbatim (its '2f1a...' hash placeholder fits char(64)).
const SPEC_5_4 = `
INSERT INTO devices(device_code, label, s3_prefix_hint, last_upload_at, captures_count)
VALUES ('dev-0001','North Barn Pi','raw/dev-0001/', now(), 1)
ON CONFLICT (device_code) DO UPDATE
SET last_upload_at = excluded.last_upload_at,
    captures_count = devices.captures_count + 1;

INSERT INTO assets(bucket, object_key, sha256, size_bytes, mime_type)
VALUES 
 ('cti-dev-406214277746','raw/dev-0001/2025/09/09/cap_1757423584/image.jpg','2f1a...','123456','image/jpeg')
RETURNING id;

INSERT INTO scans(capture_id, ingest_key, device_id, gps, captured_at, status, image_asset_id)
VALUES (
  'cap_1757423584',
  's3://cti-dev-406214277746/raw/dev-0001/2025/09/09/cap_1757423584/',
  (SELECT id FROM devices WHERE device_code='dev-0001'),
  ST_SetSRID(ST_MakePoint(-79.3832, 43.6532), 4326),
  '2025-09-09T14:18:32Z',
  'ingested',
  (SELECT id FROM assets WHERE object_key LIKE '%cap_1757423584/image.jpg' LIMIT 1)
);

INSERT INTO scan_events(scan_id, event, meta)
SELECT s.id, 'ingested', '{"source":"lambda"}'::jsonb
FROM scans s WHERE s.capture_id='cap_1757423584';`;

// Spec §5.5, verbatim.
const SPEC_5_5 = `
INSERT INTO grading_results(
  scan_id, model_name, model_version, inference_sha256, confidence, confidence_breakdown, features_used, created_by
) VALUES (
  (SELECT id FROM scans WHERE capture_id='cap_1757423584'),
  'ribeye-unetpp', '1.2.0', 'd9c4...<64 hex>', 0.8732,
  '{"mask_iou":0.84,"edge_quality":0.78,"snr":18.3}'::jsonb,
  '{"roi_area_px":46210,"mean_intensity":128.4,"texture_glcm_contrast":0.322}'::jsonb,
  (SELECT id FROM users WHERE email='tech@example.com')
);`;

// Spec §7 sample queries, verbatim.
const RECENT_SCANS_FOR_DEVICE = `
SELECT s.id, s.capture_id, s.captured_at, a.bucket, a.object_key
FROM scans s
JOIN assets a ON a.id = s.image_asset_id
WHERE s.device_id = (SELECT id FROM devices WHERE device_code='dev-0001')
ORDER BY s.captured_at DESC LIMIT 50;`;
const LATEST_GRADING_PER_SCAN = `
SELECT DISTINCT ON (g.scan_id)
  g.scan_id, g.model_name, g.model_version, g.confidence, g.created_at
FROM grading_results g
ORDER BY g.scan_id, g.created_at DESC;`;
const SCANS_WITHIN_FARM = `
SELECT s.*
FROM scans s
JOIN farms f ON f.id = s.farm_id
WHERE ST_Contains(f.geofence, s.gps);`;

const INGEST_KEY = 's3://cti-dev-406214277746/raw/dev-0001/2025/09/09/cap_1757423584/';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
  await db.sql`INSERT INTO users(email, full_name) VALUES ('tech@example.com', 'Tech One')`;
  await db.sql.unsafe(SPEC_5_4);
});
after(() => db.drop());

/** Runs `fn`, expecting Postgres to refuse with `code`; returns the error for further checks. */
async function refused(
  code: string,
  fn: () => Promise<unknown>,
  message?: RegExp,
): Promise<{ constraint_name?: string }> {
  try {
    await fn();
  } catch (err) {
    assert.equal((err as { code?: string }).code, code, (err as Error).message);
    if (message) assert.match((err as Error).message, message);
    return err as { constraint_name?: string };
  }
  assert.fail(`expected SQLSTATE ${code}, but the statement succeeded`);
}

describe('migration 1 seeds', () => {
  test('the three roles of spec §10', async () => {
    const rows = await db.sql`SELECT name FROM roles ORDER BY id`;
    assert.deepEqual(
      rows.map((r) => r.name),
      ['admin', 'technician', 'farmer'],
    );
  });
});

describe('spec §5.4 server mapping', () => {
  test('creates the device, asset, scan (GPS as Point(lon, lat), SRID 4326) and event', async () => {
    const [scan] = await db.sql`
      SELECT s.capture_id, s.status, s.captured_at, d.device_code, d.captures_count, a.object_key,
             ST_X(s.gps) AS lon, ST_Y(s.gps) AS lat, ST_SRID(s.gps) AS srid,
             (SELECT array_agg(e.event) FROM scan_events e WHERE e.scan_id = s.id) AS events
      FROM scans s JOIN devices d ON d.id = s.device_id JOIN assets a ON a.id = s.image_asset_id
      WHERE s.ingest_key = ${INGEST_KEY}`;
    assert.deepEqual(
      { ...scan, captured_at: scan?.captured_at.toISOString() },
      {
        capture_id: 'cap_1757423584',
        status: 'ingested',
        captured_at: '2025-09-09T14:18:32.000Z',
        device_code: 'dev-0001',
        captures_count: 1,
        object_key: 'raw/dev-0001/2025/09/09/cap_1757423584/image.jpg',
        lon: -79.3832,
        lat: 43.6532,
        srid: 4326,
        events: ['ingested'],
      },
    );
  });

  test('the device upsert updates the existing row on conflict', async () => {
    const device = SPEC_5_4.slice(0, SPEC_5_4.indexOf(';') + 1);
    await db.sql.unsafe(device);
    const rows = await db.sql`SELECT captures_count FROM devices WHERE device_code = 'dev-0001'`;
    assert.deepEqual(rows.length, 1);
    assert.equal(rows[0]?.captures_count, 2);
    await db.sql`UPDATE devices SET captures_count = 1 WHERE device_code = 'dev-0001'`;
  });

  test('a scan defaults to status uploaded; the enum rejects unknown values', async () => {
    const [row] = await db.sql`
      INSERT INTO scans(capture_id, ingest_key, device_id)
      SELECT 'cap_default', 's3://b/raw/dev-0001/2025/09/10/cap_default/', id FROM devices
      WHERE device_code = 'dev-0001' RETURNING status`;
    assert.equal(row?.status, 'uploaded');
    await refused('22P02', () => db.sql`UPDATE scans SET status = 'done' WHERE capture_id = 'cap_default'`);
    await db.sql`DELETE FROM scans WHERE capture_id = 'cap_default'`;
  });
});

describe('spec §5.5 and §7 sample queries', () => {
  test('recent scans for a device, with the image object', async () => {
    const rows = await db.sql.unsafe(RECENT_SCANS_FOR_DEVICE);
    assert.deepEqual(
      rows.map((r) => [r.capture_id, r.bucket, r.object_key]),
      [['cap_1757423584', 'cti-dev-406214277746', 'raw/dev-0001/2025/09/09/cap_1757423584/image.jpg']],
    );
  });

  test('latest grading per scan picks the newest of several results', async () => {
    await db.sql.unsafe(SPEC_5_5);
    await db.sql`UPDATE grading_results SET created_at = now() - interval '1 hour'`;
    await db.sql.unsafe(SPEC_5_5.replace("'1.2.0'", "'1.3.0'").replace('0.8732', '0.9100'));
    const rows = await db.sql.unsafe(LATEST_GRADING_PER_SCAN);
    assert.deepEqual(
      rows.map((r) => [r.model_name, r.model_version, r.confidence]),
      [['ribeye-unetpp', '1.3.0', '0.9100']],
    );
    const [by] = await db.sql`
      SELECT count(*)::int AS n FROM grading_results g JOIN users u ON u.id = g.created_by
      WHERE u.email = 'tech@example.com'`;
    assert.equal(by?.n, 2);
  });

  test('scans within a farm polygon: ST_Contains returns only the scans inside the geofence', async () => {
    const [farm] = await db.sql`
      INSERT INTO farms(name, geofence, centroid) VALUES ('Toronto block',
        ST_GeomFromText('POLYGON((-79.40 43.64, -79.37 43.64, -79.37 43.67, -79.40 43.67, -79.40 43.64))', 4326),
        ST_SetSRID(ST_MakePoint(-79.385, 43.655), 4326))
      RETURNING id`;
    const points = { inside: [-79.3832, 43.6532], outside: [-79.5, 43.7], edge_far: [-79.36, 43.6532] };
    for (const [capture, [lon, lat]] of Object.entries(points)) {
      await db.sql`
        INSERT INTO scans(capture_id, ingest_key, device_id, farm_id, gps)
        SELECT ${capture}, ${`s3://b/raw/dev-0001/2025/09/11/${capture}/`}, id, ${farm!.id},
               ST_SetSRID(ST_MakePoint(${lon!}, ${lat!}), 4326)
        FROM devices WHERE device_code = 'dev-0001'`;
    }
    const rows = await db.sql.unsafe(SCANS_WITHIN_FARM);
    assert.deepEqual(
      rows.map((r) => r.capture_id),
      ['inside'],
    );
  });
});

describe('spec §6 constraints', () => {
  test('ingest_key is unique: a second scan for the same capture dir fails with 23505', async () => {
    const err = await refused(
      '23505',
      () => db.sql`
        INSERT INTO scans(capture_id, ingest_key, device_id)
        SELECT 'cap_1757423584', ${INGEST_KEY}, id FROM devices WHERE device_code = 'dev-0001'`,
    );
    assert.equal(err.constraint_name, 'scans_ingest_key_key');
    // The retry-safe form the webhook handler uses inserts nothing on replay.
    const replay = await db.sql`
      INSERT INTO scans(capture_id, ingest_key, device_id)
      SELECT 'cap_1757423584', ${INGEST_KEY}, id FROM devices WHERE device_code = 'dev-0001'
      ON CONFLICT (ingest_key) DO NOTHING RETURNING id`;
    assert.equal(replay.length, 0);
  });

  test('other natural keys are unique too: assets (bucket, object_key), devices, animals per farm', async () => {
    await refused(
      '23505',
      () => db.sql`
        INSERT INTO assets(bucket, object_key, sha256)
        VALUES ('cti-dev-406214277746', 'raw/dev-0001/2025/09/09/cap_1757423584/image.jpg', ${'a'.repeat(64)})`,
    );
    await refused('23505', () => db.sql`INSERT INTO devices(device_code) VALUES ('dev-0001')`);
    const [farm] = await db.sql`INSERT INTO farms(name) VALUES ('Herd farm') RETURNING id`;
    await db.sql`INSERT INTO animals(farm_id, tag_id) VALUES (${farm!.id}, 'TAG-1')`;
    await refused('23505', () => db.sql`INSERT INTO animals(farm_id, tag_id) VALUES (${farm!.id}, 'TAG-1')`);
  });

  test('foreign keys restrict deletes of referenced rows (23503) and reject dangling references', async () => {
    for (const statement of [
      db.sql`DELETE FROM devices WHERE device_code = 'dev-0001'`,
      db.sql`DELETE FROM assets WHERE object_key LIKE '%cap_1757423584/image.jpg'`,
      db.sql`DELETE FROM scans WHERE capture_id = 'cap_1757423584'`,
      db.sql`DELETE FROM users WHERE email = 'tech@example.com'`,
      db.sql`DELETE FROM farms WHERE name = 'Toronto block'`,
    ]) {
      await refused('23503', () => statement);
    }
    await refused(
      '23503',
      () => db.sql`INSERT INTO scan_events(scan_id, event) VALUES (gen_random_uuid(), 'orphan')`,
    );
    const [left] = await db.sql`SELECT count(*)::int AS n FROM scans WHERE ingest_key = ${INGEST_KEY}`;
    assert.equal(left?.n, 1);
  });

  test('SRID 4326 is enforced: a 3857 point and a point as geofence are refused (22023)', async () => {
    await refused(
      '22023',
      () => insertScan('cap_3857', 'SRID=3857;POINT(-8836945 5408931)'),
      /SRID \(3857\) does not match column SRID \(4326\)/,
    );
    await refused(
      '22023',
      () => db.sql`
        INSERT INTO farms(name, geofence) VALUES ('bad', ST_SetSRID(ST_MakePoint(-79.38, 43.65), 4326))`,
      /Geometry type \(Point\) does not match column type \(Polygon\)/,
    );
    await insertScan('cap_4326', 'SRID=4326;POINT(-79.38 43.65)');
    const rows = await db.sql`SELECT capture_id FROM scans WHERE capture_id IN ('cap_3857', 'cap_4326')`;
    assert.deepEqual(
      rows.map((r) => r.capture_id),
      ['cap_4326'],
    );
  });

  test('a point without SRID (0 = unknown) is stored as 4326, which PostGIS assumes for the column', async () => {
    await insertScan('cap_nosrid', 'POINT(-79.38 43.65)');
    const [row] = await db.sql`SELECT ST_SRID(gps) AS srid FROM scans WHERE capture_id = 'cap_nosrid'`;
    assert.equal(row?.srid, 4326);
  });
});

function insertScan(capture: string, gps: string) {
  return db.sql`
    INSERT INTO scans(capture_id, ingest_key, device_id, gps)
    SELECT ${capture}, ${`s3://b/raw/dev-0001/2025/09/12/${capture}/`}, id, ${gps}::geometry
    FROM devices WHERE device_code = 'dev-0001'`;
}
