import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { type LocalS3, startS3rver } from '@cti/testkit';
import { createUrlSigner } from '../storage/url-signer.ts';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { createTestApp, type TestApp } from '../test-helpers.ts';
import { startSignatureProxy } from '../test-s3-signature-proxy.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { pageClient } from '../web/pages/test-page-client.ts';

// The scans API against real Postgres + PostGIS and a real S3-compatible server (s3rver, behind a proxy
// that checks SigV4 query signatures and expiry as S3 does — s3rver accepts any SigV4 signature; the
// proxy is the browser-facing CTI_S3_PUBLIC_ENDPOINT): filters, keyset pages, counts, detail with
// presigned URLs whose bytes match the asset's sha256, edits, and the farm scope.

process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
const BUCKET = 'cti-scans-test';
const IMAGE = Buffer.from(`not really a png ${Date.now()}`);
const IMAGE_SHA = createHash('sha256').update(IMAGE).digest('hex');

let db: TestDatabase;
let s3: LocalS3;
let proxy: Awaited<ReturnType<typeof startSignatureProxy>>;
let server: TestApp;
const ids = {} as Record<'north' | 'south' | 'dev1' | 'dev2' | 'orphan' | 'newest' | 'manual', string>;
const scansOfNorth: string[] = [];

before(async () => {
  db = await createTestDatabase();
  s3 = await startS3rver({ buckets: [BUCKET] });
  await s3.client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/dev-1/2025/09/09/cap_1/image.png', Body: IMAGE }),
  );
  proxy = await startSignatureProxy({ target: s3.endpoint, secretKey: 'S3RVER' });
  server = createTestApp(db.sql, {
    api: {
      signedUrlTtlSeconds: 120,
      s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      s3PublicEndpoint: proxy.endpoint,
    },
  });
  const sql = db.sql;
  ids.north = await seedFarm(sql, 'North', { lon: -79.38, lat: 43.65 });
  ids.south = await seedFarm(sql, 'South', { lon: -80.5, lat: 42.9 });
  ids.dev1 = await seedDevice(sql, 'dev-1', ids.north);
  ids.dev2 = await seedDevice(sql, 'dev-2', ids.south);
  await seedUser(sql, 'admin@example.com', ['admin']);
  await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: ids.north, owner: true }] });
  await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: ids.north }, { id: ids.south }] });
  // 30 scans on North one minute apart (newest first in the list), 5 on South, one without a farm.
  const base = Date.parse('2025-09-09T12:00:00Z');
  for (let i = 0; i < 30; i++) {
    const id = await seedScan(sql, {
      farmId: ids.north,
      deviceId: ids.dev1,
      capturedAt: new Date(base + i * 60_000).toISOString(),
      image:
        i === 29
          ? {
              bucket: BUCKET,
              key: 'raw/dev-1/2025/09/09/cap_1/image.png',
              sha256: IMAGE_SHA,
              size: IMAGE.length,
            }
          : null,
      gps: i % 2 === 0 ? { lon: -79.38, lat: 43.65 } : { lon: -70, lat: 40 },
    });
    scansOfNorth.unshift(id);
    if (i % 3 === 0) await seedGrading(sql, id, { grade: i % 6 === 0 ? 'A' : 'R' });
  }
  // Two scans in the same microsecond: the cursor's id tie-break keeps them apart.
  await db.sql`UPDATE scans SET captured_at = ${new Date(base + 10 * 60_000).toISOString()} WHERE id = ${scansOfNorth[18]!}`;
  for (let i = 0; i < 5; i++)
    await seedScan(sql, {
      farmId: ids.south,
      deviceId: ids.dev2,
      capturedAt: new Date(base + i * 1000).toISOString(),
    });
  ids.orphan = await seedScan(sql, { farmId: null, deviceId: ids.dev2 });
  ids.newest = scansOfNorth[0]!;
  // The newest North scan: a model result with a missing measurement, then a manual correction.
  await seedGrading(sql, ids.newest, {
    grade: 'M',
    features: { rea_cm2: 81.5, fat_thickness_mm: null, roi_area_px: 46210, pixel_spacing_mm: 0.2 },
    createdAt: '2025-09-09T13:00:00Z',
  });
  ids.manual = await seedGrading(sql, ids.newest, {
    grade: 'A',
    createdBy: (await db.sql`SELECT id FROM users WHERE email = 'tech@example.com'`)[0]!.id,
    features: { rea_cm2: 83.0 },
    createdAt: '2025-09-09T13:05:00Z',
  });
});
after(async () => {
  await server?.close();
  await proxy?.close();
  await s3?.close();
  await db?.drop();
});

async function as(email: string): Promise<ApiClient> {
  const client = apiClient(server.app);
  assert.equal((await client.signIn(email, TEST_PASSWORD)).status, 200);
  return client;
}

async function allPages(client: ApiClient, query: string, limit: number) {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { items: { id: string }[]; next_cursor: string | null } } =
      await client.request('GET', `/api/v1/scans?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200);
    seen.push(...res.body.items.map((s) => s.id));
    cursor = res.body.next_cursor;
  } while (cursor);
  return seen;
}

describe('scans list', () => {
  test('keyset pages walk every visible scan once, newest capture first, at any page size', async () => {
    const farmer = await as('farmer@example.com');
    for (const limit of [1, 7, 30, 200]) {
      assert.deepEqual(
        await allPages(farmer, '', limit),
        (await allPages(farmer, '', 200)).slice(),
        `limit ${limit}`,
      );
    }
    const all = await allPages(farmer, '', 7);
    assert.equal(all.length, 30);
    assert.equal(new Set(all).size, 30);
    assert.equal(all[0], ids.newest);
    const tech = await as('tech@example.com');
    assert.equal((await allPages(tech, '', 4)).length, 35, 'technician on two farms: merged per farm');
    const admin = await as('admin@example.com');
    assert.equal((await allPages(admin, '', 9)).length, 36, 'admins also see the scan without a farm');
  });

  test('filters: farm, device, status, grade, date range, capture id, geofence, review label', async () => {
    const tech = await as('tech@example.com');
    const count = async (q: string) => (await allPages(tech, q, 200)).length;
    assert.equal(await count(`&farm_id=${ids.south}`), 5);
    assert.equal(await count(`&device_id=${ids.dev1}`), 30);
    assert.equal(await count('&grade=A'), 6);
    assert.equal(await count('&grade=R'), 5);
    assert.equal(await count('&status=graded'), 11);
    assert.equal(await count('&from=2025-09-09T12:10:00Z&to=2025-09-09T12:20:00Z'), 10);
    // Every South scan was also taken at North's point (seedScan's default GPS): 15 + 5.
    assert.equal(await count(`&in_geofence_of=${ids.north}`), 20);
    assert.equal(await count(`&in_geofence_of=${ids.north}&farm_id=${ids.north}`), 15);
    const [one] = await db.sql`SELECT capture_id FROM scans WHERE id = ${ids.newest}`;
    assert.deepEqual(await allPages(tech, `&capture_id=${one!.capture_id}`, 10), [ids.newest]);
    await tech.request('PATCH', `/api/v1/scans/${scansOfNorth[3]}`, { body: { review_label: 'retake' } });
    assert.deepEqual(await allPages(tech, '&review_label=retake', 10), [scansOfNorth[3]]);
  });

  test('without a limit the same query streams every row through a database cursor, in page order', async () => {
    const { scanListQuery } = await import('../access/scan-list-query.ts');
    const { testPrincipal } = await import('../auth/test-principal.ts');
    const principal = testPrincipal(
      (await db.sql`SELECT id FROM users WHERE email = 'tech@example.com'`)[0]!.id as string,
      ['technician'],
    );
    const streamed: string[] = [];
    await scanListQuery(db.sql, principal, { device_id: ids.dev1 }).cursor(7, (rows) => {
      streamed.push(...rows.map((r) => r.id));
    });
    const tech = await as('tech@example.com');
    assert.deepEqual(streamed, await allPages(tech, `&device_id=${ids.dev1}`, 9));
    assert.equal(streamed.length, 30);
  });

  test('a farmer filtering by another farm sees nothing; bad parameters are 422 naming them', async () => {
    const farmer = await as('farmer@example.com');
    assert.deepEqual(await allPages(farmer, `&farm_id=${ids.south}`, 50), []);
    assert.deepEqual(await allPages(farmer, `&in_geofence_of=${ids.south}`, 50), []);
    for (const [q, pointer] of [
      ['status=lost', '/query/status'],
      ['limit=0', '/query/limit'],
      ['farm_id=north', '/query/farm_id'],
      ['from=yesterday', '/query/from'],
      ['cursor=garbage', '/query/cursor'],
      ['colour=red', '/query/colour'],
      ['capture_id=cap%00x', '/query/capture_id'],
      ['review_label=%00', '/query/review_label'],
      ['from=2016-12-31T23:59:60Z', '/query/from'],
      ['to=0000-01-01T00:00:00Z', '/query/to'],
      // Valid RFC 3339 that Postgres cannot hold: an offset beyond ±15:59, an instant in year 0 or
      // 10000 in UTC (review r9 F6: these were 500s).
      ['to=9999-12-31T23:59:59-23:59', '/query/to'],
      ['from=9999-12-31T23:59:59-00:01', '/query/from'],
      ['from=0001-01-01T00:00:00%2B00:01', '/query/from'],
      ['from=2025-09-09T00:00:00%2B16:00', '/query/from'],
    ]) {
      const res = await farmer.request('GET', `/api/v1/scans?${q}`);
      assert.equal(res.status, 422, q);
      assert.equal(res.body.problems[0].pointer, pointer, q);
    }
  });

  test('a forged cursor with a time Postgres cannot hold is the same 422 (API) or page notice, never a 500', async () => {
    const farmer = await as('farmer@example.com');
    const page = await pageClient(server.app, 'farmer@example.com');
    const forged = (us: string) =>
      Buffer.from(`s1|${us}|00000000-0000-4000-8000-000000000000`).toString('base64url');
    // bigint's ends, beyond the interval multiplication, and before 4714 BC / after 294276 AD.
    for (const us of [
      '9223372036854775807',
      '9999999999999999999',
      '-9999999999999999999',
      '-210866803300000000',
    ]) {
      const res = await farmer.request('GET', `/api/v1/scans?cursor=${forged(us)}`);
      assert.equal(res.status, 422, us);
      assert.equal(res.body.problems[0].pointer, '/query/cursor', us);
      for (const param of ['cursor', 'before']) {
        const html = await page.get(`/scans?${param}=${forged(us)}`);
        assert.equal(html.status, 200, `${param} ${us}`);
        assert.match(html.html, /That page link is not valid any more/, `${param} ${us}`);
      }
    }
    // Far but representable times are still cursors (an empty page past the oldest scan).
    const far = await farmer.request('GET', `/api/v1/scans?cursor=${forged('-210866803200000000')}`);
    assert.equal(far.status, 200);
    assert.deepEqual(far.body.items, []);
  });

  test('latest grading in the list; missing measurements are null, never 0; counts by status', async () => {
    const farmer = await as('farmer@example.com');
    const res = await farmer.request('GET', '/api/v1/scans?limit=1');
    const item = res.body.items[0];
    assert.equal(item.latest_grading.id, ids.manual);
    assert.equal(item.latest_grading.manual, true);
    assert.equal(item.latest_grading.fat_thickness_mm, null);
    const counts = await farmer.request('GET', '/api/v1/scans/counts');
    assert.equal(counts.status, 200);
    assert.equal(counts.body.total, 30);
    assert.equal(counts.body.by_status.graded, 11);
    assert.equal(counts.body.by_status.ingested, 19);
    assert.equal(counts.body.last_24h.total, 0);
  });
});

describe('scan detail', () => {
  test('metadata, events, every result (newest first, with lineage), a presigned URL whose bytes match', async () => {
    const farmer = await as('farmer@example.com');
    const res = await farmer.request('GET', `/api/v1/scans/${scansOfNorth[0]}`);
    assert.equal(res.status, 200);
    const scan = res.body;
    assert.equal(scan.farm.name, 'North');
    assert.equal(scan.can_edit, false, 'farmers are read-only');
    assert.deepEqual(
      scan.events.map((e: { event: string }) => e.event),
      ['ingested'],
    );
    assert.deepEqual(scan.grading_results.map((g: { id: string }) => g.id)[0], ids.manual);
    assert.equal(scan.latest_grading_id, ids.manual);
    const model = scan.grading_results[1];
    assert.equal(model.manual, false);
    assert.equal(model.created_by, null, 'the system');
    assert.equal(model.inference_sha256, 'd'.repeat(64));
    assert.equal(model.features_used.fat_thickness_mm, null, 'stored null stays null');
    assert.equal(model.measurements.fat_thickness_mm, null);
    assert.equal(model.measurements.ribeye_width_mm, null, 'an absent measure is null');
    assert.equal(model.measurements.rea_cm2, 81.5);
    assert.equal(scan.grading_results[0].created_by.email, 'tech@example.com');
    const image = scan.image;
    assert.equal(image.sha256, IMAGE_SHA);
    const expiresIn = Date.parse(image.url_expires_at) - Date.now();
    assert.ok(expiresIn > 0 && expiresIn <= 300_000, 'expiry at most 5 minutes');
    const bytes = Buffer.from(await (await fetch(image.url)).arrayBuffer());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), image.sha256);
  });

  test('a tampered or expired URL is refused by S3', async () => {
    const farmer = await as('farmer@example.com');
    const { image } = (await farmer.request('GET', `/api/v1/scans/${scansOfNorth[0]}`)).body;
    // Another key under the same signature (the object exists: only the signature can refuse it).
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'raw/dev-1/2025/09/09/cap_1/mask.png', Body: IMAGE }),
    );
    const tampered = image.url.replace('image.png', 'mask.png');
    assert.equal((await fetch(tampered)).status, 403);
    const otherSig = image.url.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_m: string, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
    );
    assert.equal((await fetch(otherSig)).status, 403);
    assert.equal((await fetch(image.url)).status, 200, 'the untouched URL works');
    const past = createUrlSigner({
      settings: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      publicEndpoint: proxy.endpoint,
      ttlSeconds: 60,
      clock: () => Date.now() - 10 * 60_000,
    });
    const expired = await past.sign(BUCKET, 'raw/dev-1/2025/09/09/cap_1/image.png');
    assert.equal((await fetch(expired.url)).status, 403);
  });

  test('another farm’s scan and asset are 404 exactly like missing ones, and get no URL', async () => {
    const farmer = await as('farmer@example.com');
    const [southScan] = await db.sql`SELECT id FROM scans WHERE farm_id = ${ids.south} LIMIT 1`;
    const other = await farmer.request('GET', `/api/v1/scans/${southScan!.id}`);
    const missing = await farmer.request('GET', '/api/v1/scans/00000000-0000-4000-8000-000000000000');
    assert.equal(other.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(other.body.message, missing.body.message);
    assert.equal((await farmer.request('GET', `/api/v1/scans/${ids.orphan}`)).status, 404);
    assert.equal((await farmer.request('GET', '/api/v1/scans/not-a-uuid')).status, 404);
    const [asset] = await db.sql`SELECT image_asset_id AS id FROM scans WHERE id = ${scansOfNorth[0]!}`;
    assert.equal((await farmer.request('GET', `/api/v1/assets/${asset!.id}`)).status, 200);
    await db.sql`UPDATE user_farms SET farm_id = ${ids.south} WHERE farm_id = ${ids.north} AND user_id = (SELECT id FROM users WHERE email = 'farmer@example.com')`;
    try {
      assert.equal((await farmer.request('GET', `/api/v1/assets/${asset!.id}`)).status, 404);
      assert.equal((await farmer.request('GET', `/api/v1/assets/${asset!.id}/content`)).status, 404);
    } finally {
      await db.sql`UPDATE user_farms SET farm_id = ${ids.north} WHERE farm_id = ${ids.south} AND user_id = (SELECT id FROM users WHERE email = 'farmer@example.com')`;
    }
  });

  test('an asset is named by the role the scan detail gives it: image, mask, overlay (review r12 F6)', async () => {
    const farmer = await as('farmer@example.com');
    const scanId = scansOfNorth[0]!;
    const [image] = await db.sql`SELECT image_asset_id AS id FROM scans WHERE id = ${scanId}`;
    assert.equal((await farmer.request('GET', `/api/v1/assets/${image!.id}`)).body.role, 'image');
    // A grading output: an overlay linked to the scan's latest result.
    const [overlay] = await db.sql`
      INSERT INTO assets (bucket, object_key, sha256, size_bytes, mime_type)
      VALUES (${BUCKET}, 'processed/cap_1/job-1-overlay.png', ${'e'.repeat(64)}, 10, 'image/png') RETURNING id`;
    await db.sql`
      INSERT INTO grading_result_assets (grading_result_id, asset_id, role)
      SELECT latest_grading_id, ${overlay!.id}, 'overlay' FROM scans WHERE id = ${scanId}`;
    const res = await farmer.request('GET', `/api/v1/assets/${overlay!.id}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.role, 'overlay');
  });

  test('the asset redirect sends a fresh presigned URL', async () => {
    const farmer = await as('farmer@example.com');
    const [asset] = await db.sql`SELECT image_asset_id AS id FROM scans WHERE id = ${scansOfNorth[0]!}`;
    const res = await farmer.request('GET', `/api/v1/assets/${asset!.id}/content`);
    assert.equal(res.status, 302);
    const bytes = Buffer.from(await (await fetch(res.headers.get('location')!)).arrayBuffer());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), IMAGE_SHA);
  });
});

describe('scan edits', () => {
  test('technicians set review fields (stored text comes back as plain JSON text); farmers may not', async () => {
    const tech = await as('tech@example.com');
    const label = '<img src=x onerror=alert(1)>';
    const res = await tech.request('PATCH', `/api/v1/scans/${scansOfNorth[5]}`, {
      body: { review_label: label, review_clarity: 4, review_usability: 'usable' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.review.label, label, 'JSON carries text; pages escape it');
    assert.equal(res.body.review.reviewed_by.full_name, 'tech');
    assert.equal(res.body.events.at(-1).event, 'edited');
    const farmer = await as('farmer@example.com');
    assert.equal(
      (await farmer.request('PATCH', `/api/v1/scans/${scansOfNorth[5]}`, { body: { review_clarity: 1 } }))
        .status,
      403,
    );
    const bad = await tech.request('PATCH', `/api/v1/scans/${scansOfNorth[5]}`, {
      body: { review_clarity: 9, review_usability: 'meh' },
    });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.problems.map((p: { pointer: string }) => p.pointer).sort(), [
      '/review_clarity',
      '/review_usability',
    ]);
  });

  test('moving a scan needs rights on both farms; a linked animal must be on the scan’s farm', async () => {
    const [animal] =
      await db.sql`INSERT INTO animals (farm_id, tag_id) VALUES (${ids.south}, 'S-1') RETURNING id`;
    const tech = await as('tech@example.com');
    const mismatch = await tech.request('PATCH', `/api/v1/scans/${scansOfNorth[6]}`, {
      body: { animal_id: animal!.id },
    });
    assert.equal(mismatch.status, 422);
    assert.equal(mismatch.body.problems[0].pointer, '/animal_id');
    const moved = await tech.request('PATCH', `/api/v1/scans/${scansOfNorth[6]}`, {
      body: { farm_id: ids.south, animal_id: animal!.id },
    });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.farm.id, ids.south);
    assert.equal(moved.body.animal.tag_id, 'S-1');
    const farmer = await as('farmer@example.com');
    assert.equal(
      (await farmer.request('GET', `/api/v1/scans/${scansOfNorth[6]}`)).status,
      404,
      'it left the farmer’s farm',
    );
    const northOnly = await seedUser(db.sql, 'north-tech@example.com', ['technician'], {
      farms: [{ id: ids.north }],
    });
    const nt = await as(northOnly.email);
    const refused = await nt.request('PATCH', `/api/v1/scans/${scansOfNorth[7]}`, {
      body: { farm_id: ids.south },
    });
    assert.equal(refused.status, 422, 'a farm the technician cannot see is unknown to them');
    assert.equal(refused.body.problems[0].pointer, '/farm_id');
    const [row] = await db.sql`SELECT farm_id FROM scans WHERE id = ${scansOfNorth[7]!}`;
    assert.equal(row!.farm_id, ids.north, 'nothing changed');
  });
});
