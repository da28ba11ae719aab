import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { decodeRaster, toGray } from '@cti/imaging';
import { computeGradingFeatures, fillHoles, largestComponent, type Mask } from '@cti/models';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import type { Sql } from 'postgres';
import sharp from 'sharp';
import { pngDeclaring } from '../grading/test-grading-rig.ts';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { createTestApp, type TestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import {
  editorPng,
  modelMask,
  type PhantomScan,
  phantomScan,
  seedCorrectableScan,
  sha256,
} from './test-correction-world.ts';

// POST /api/v1/scans/{id}/corrections against Postgres + PostGIS (real migrations) and s3rver: a
// correction adds a result computed by the worker's feature code and never touches the model's result
// (rows and bytes); every kind of bad input is a 4xx naming the field, never a 500.

process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
const BUCKET = 'cti-corrections-test';

let db: TestDatabase;
let s3: LocalS3;
let app: TestApp;
let frame: PhantomScan;
const w = {} as Record<
  'farmA' | 'farmB' | 'devA' | 'devB' | 'scan' | 'result' | 'other' | 'ungraded' | 'noImage' | 'tampered',
  string
> & { users: Record<'admin' | 'technician' | 'farmer' | 'stranger', string> };
let n = 0;
const clients = new Map<string, ApiClient>();

before(async () => {
  db = await createTestDatabase();
  s3 = await startS3rver({ buckets: [BUCKET] });
  frame = await phantomScan();
  const sql = db.sql;
  w.farmA = await seedFarm(sql, 'Maple Farm');
  w.farmB = await seedFarm(sql, 'Birch Farm', { lon: -80, lat: 42 });
  w.devA = await seedDevice(sql, 'dev-a', w.farmA);
  w.devB = await seedDevice(sql, 'dev-b', w.farmB);
  w.users = {
    admin: (await seedUser(sql, 'admin@example.com', ['admin'])).id,
    technician: (await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: w.farmA }] })).id,
    farmer: (await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: w.farmA, owner: true }] }))
      .id,
    stranger: (await seedUser(sql, 'stranger@example.com', ['technician'], { farms: [{ id: w.farmB }] })).id,
  };
  const seed = (o: Partial<Parameters<typeof seedCorrectableScan>[2]>) =>
    seedCorrectableScan(sql, s3.client, {
      bucket: BUCKET,
      farmId: w.farmA,
      deviceId: w.devA,
      frame,
      captureId: `cap_${++n}`,
      ...o,
    });
  const main = await seed({});
  w.scan = main.scanId;
  w.result = main.resultId!;
  w.other = (await seed({ farmId: w.farmB, deviceId: w.devB })).scanId;
  w.ungraded = (await seed({ graded: false })).scanId;
  w.noImage = (await seed({})).scanId;
  await sql`UPDATE scans SET image_asset_id = NULL WHERE id = ${w.noImage}`;
  const tampered = await seed({});
  w.tampered = tampered.scanId;
  await s3.client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: tampered.imageKey,
      Body: await sharp(frame.png).negate().png().toBuffer(),
    }),
  );
  app = createTestApp(sql, {
    api: {
      signedUrlTtlSeconds: 120,
      s3: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
      s3PublicEndpoint: undefined,
    },
  });
});
after(async () => {
  await app?.close();
  await s3?.close();
  await db?.drop();
});

async function as(email: string): Promise<ApiClient> {
  let c = clients.get(email);
  if (!c) {
    c = apiClient(app.app);
    assert.equal((await c.signIn(email, TEST_PASSWORD)).status, 200);
    clients.set(email, c);
  }
  return c;
}

function form(parts: { mask?: Uint8Array | string; fat_line?: string; [k: string]: unknown }) {
  const f = new FormData();
  for (const [k, v] of Object.entries(parts)) {
    if (v instanceof Uint8Array) f.append(k, new Blob([v], { type: 'image/png' }), `${k}.png`);
    else f.append(k, String(v));
  }
  return f;
}

const correct = async (who: string, scan: string, parts: Parameters<typeof form>[0], options = {}) =>
  (await as(who)).request('POST', `/api/v1/scans/${scan}/corrections`, { body: form(parts), ...options });

/** Everything a correction could change, to compare before and after a refused one. */
async function snapshot(sql: Sql) {
  const [counts] = await sql`
    SELECT (SELECT count(*) FROM grading_results)::int AS results, (SELECT count(*) FROM assets)::int AS assets,
           (SELECT count(*) FROM scan_events)::int AS events, (SELECT count(*) FROM notifications)::int AS notes`;
  return { ...counts, objects: s3.events.length };
}

const count = (m: Mask) => m.data.reduce((a, v) => a + v, 0);
const readObject = async (key: string) =>
  new Uint8Array(
    await (
      await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    ).Body!.transformToByteArray(),
  );
const decodeMask = async (bytes: Uint8Array): Promise<Mask> => {
  const gray = toGray(await decodeRaster(bytes));
  return { data: gray.data.map((v) => (v > 127 ? 1 : 0)), width: gray.width, height: gray.height };
};

describe('POST /api/v1/scans/{id}/corrections', () => {
  test('a technician of the farm corrects the outline: a new manual result computed by the worker’s code; the model’s result untouched', async () => {
    const sql = db.sql;
    const original = await sql`SELECT * FROM grading_results WHERE id = ${w.result}`;
    const originalAssets = await sql`
      SELECT a.*, gra.role FROM grading_result_assets gra JOIN assets a ON a.id = gra.asset_id
       WHERE gra.grading_result_id = ${w.result} ORDER BY gra.role`;
    const originalBytes = await Promise.all(originalAssets.map((a) => readObject(a.object_key)));

    const res = await correct('tech@example.com', w.scan, {
      mask: await editorPng(frame.truth),
      fat_line: '',
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.redirect, `/scans/${w.scan}?done=correction-saved#history`);
    assert.equal(res.headers.get('location'), `/api/v1/scans/${w.scan}`);
    const g = res.body.grading_result;
    assert.equal(g.model_name, 'manual');
    assert.equal(g.model_version, 'ribeye-seg@2.3.0');
    assert.equal(g.manual, true);
    assert.equal(g.created_by.id, w.users.technician);
    assert.equal(g.confidence, null);
    assert.equal(g.inference_sha256, null);

    // Features: exactly computeGradingFeatures on the stored (cleaned) mask, same spacing, source, field.
    const [row] = await sql`SELECT * FROM grading_results WHERE id = ${g.id}`;
    assert.equal(row!.created_by, w.users.technician);
    assert.equal(row!.grading_job_id, null);
    const assets = await sql`
      SELECT a.*, gra.role FROM grading_result_assets gra JOIN assets a ON a.id = gra.asset_id
       WHERE gra.grading_result_id = ${g.id} ORDER BY gra.role`;
    assert.deepEqual(
      assets.map((a) => [a.role, a.object_key, a.mime_type]),
      [
        ['mask', `processed/cap_1/manual-${g.id}-mask.png`, 'image/png'],
        ['overlay', `processed/cap_1/manual-${g.id}-overlay.png`, 'image/png'],
      ],
    );
    for (const a of assets) {
      const bytes = await readObject(a.object_key);
      assert.equal(sha256(bytes), a.sha256.trim(), `${a.role}: sha256 of the stored object`);
      assert.equal(bytes.byteLength, Number(a.size_bytes));
    }
    const stored = await decodeMask(await readObject(assets[0]!.object_key));
    const expectedMask = fillHoles(largestComponent(frame.truth));
    assert.deepEqual(
      stored.data,
      expectedMask.data,
      'the stored mask is the drawn one (one region, no holes)',
    );
    const expected = computeGradingFeatures({
      gray: frame.gray,
      mask: stored,
      pixelSpacingMm: frame.spacingMm,
      pixelSpacingSource: 'ruler',
      scanArea: frame.scanArea,
    });
    for (const [k, v] of Object.entries(expected))
      assert.deepEqual(row!.features_used[k], v, `features_used.${k}`);
    assert.equal(row!.features_used.fat_thickness_source, 'measured');
    assert.ok(
      expected.rea_cm2! > original[0]!.features_used.rea_cm2,
      'the whole ribeye is larger than the model’s two thirds',
    );
    assert.deepEqual(row!.features_used.lineage.based_on_result_id, w.result);
    assert.deepEqual(row!.features_used.lineage.model_result_id, w.result);
    assert.deepEqual(row!.features_used.lineage.pixel_spacing, {
      mm: frame.spacingMm,
      source: 'ruler',
      from_result_id: w.result,
    });
    assert.equal(row!.grade, 'A');
    assert.deepEqual(row!.grade_reasons, []);

    // The model's result: the same row, the same asset rows, the same bytes.
    assert.deepEqual(await sql`SELECT * FROM grading_results WHERE id = ${w.result}`, original);
    assert.deepEqual(
      await sql`SELECT a.*, gra.role FROM grading_result_assets gra JOIN assets a ON a.id = gra.asset_id
                 WHERE gra.grading_result_id = ${w.result} ORDER BY gra.role`,
      originalAssets,
    );
    for (const [i, a] of originalAssets.entries())
      assert.deepEqual(await readObject(a.object_key), originalBytes[i], `${a.role} bytes unchanged`);

    // History: both, the correction first (latest); the list's latest grading is the manual one.
    const detail = await (await as('farmer@example.com')).request('GET', `/api/v1/scans/${w.scan}`);
    assert.deepEqual(
      detail.body.grading_results.map((r: { id: string }) => r.id),
      [g.id, w.result],
    );
    assert.equal(detail.body.latest_grading_id, g.id);
    assert.equal(detail.body.status, 'graded');
    const list = await (await as('farmer@example.com')).request('GET', `/api/v1/scans?farm_id=${w.farmA}`);
    const item = list.body.items.find((i: { id: string }) => i.id === w.scan);
    assert.equal(item.latest_grading.id, g.id);
    assert.equal(item.latest_grading.manual, true);
    const [event] = await sql`SELECT meta FROM scan_events WHERE scan_id = ${w.scan} AND event = 'corrected'`;
    assert.equal(event!.meta.corrected_by, w.users.technician);
    assert.equal(event!.meta.based_on_result_id, w.result);
    assert.equal(event!.meta.grading_result_id, g.id);
    // The farm hears of it, the person who corrected it does not.
    const notes =
      await sql`SELECT user_id FROM notifications WHERE type = 'scan_corrected' AND payload->>'grading_result_id' = ${g.id}`;
    assert.deepEqual(
      notes.map((r) => r.user_id),
      [w.users.farmer],
    );
  });

  test('a drawn fat line: its length × the spacing; a correction of a correction keeps the model lineage', async () => {
    const sql = db.sql;
    const [first] =
      await sql`SELECT id FROM grading_results WHERE scan_id = ${w.scan} AND model_name = 'manual'`;
    // The truth plus a stray speck far away (dropped and counted) and a hole (filled).
    const drawn = { ...frame.truth, data: frame.truth.data.slice() };
    const speck = [5, 5];
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
    ])
      drawn.data[(speck[1]! + dy!) * drawn.width + speck[0]! + dx!] = 1;
    const inside = drawn.data.findIndex(
      (v, i) => v === 1 && drawn.data[i + 1] === 1 && drawn.data[i + drawn.width * 3] === 1,
    );
    const hole = inside + drawn.width * 2 + 1;
    drawn.data[hole] = 0;
    const line = { x1: 100.25, y1: 20, x2: 103.1, y2: 41.5 };
    const res = await correct('admin@example.com', w.scan, {
      mask: await editorPng(drawn),
      fat_line: JSON.stringify(line),
      based_on_result_id: first!.id,
    });
    assert.equal(res.status, 201, res.text);
    const [row] = await sql`SELECT * FROM grading_results WHERE id = ${res.body.grading_result.id}`;
    const f = row!.features_used;
    const px = Math.round(Math.hypot(103.1 - 100.3, 41.5 - 20) * 100) / 100; // stored to 0.1 px: 100.25 → 100.3
    assert.equal(f.fat_thickness_source, 'drawn');
    assert.deepEqual(f.fat_line, { x1: 100.3, y1: 20, x2: 103.1, y2: 41.5 });
    assert.equal(f.fat_thickness_px, px);
    assert.equal(f.fat_thickness_mm, Math.round(px * frame.spacingMm * 100) / 100);
    assert.equal(f.fat_position, null);
    assert.deepEqual(f.correction.dropped_px, 3);
    assert.deepEqual(f.correction.holes_filled_px, 1);
    assert.equal(f.correction.fat_line_drawn, true);
    const expected = computeGradingFeatures({
      gray: frame.gray,
      mask: fillHoles(largestComponent(frame.truth)),
      pixelSpacingMm: frame.spacingMm,
      pixelSpacingSource: 'ruler',
      scanArea: frame.scanArea,
    });
    for (const [k, v] of Object.entries(expected)) {
      if (k.startsWith('fat_') || k === 'missing_reasons') continue;
      assert.deepEqual(f[k], v, `features_used.${k}`);
    }
    assert.equal(f.fat_thickness_measured_mm, expected.fat_thickness_mm);
    assert.equal(row!.model_version, 'ribeye-seg@2.3.0', 'still the model it all started from');
    assert.equal(f.lineage.based_on_result_id, first!.id);
    assert.equal(f.lineage.based_on, 'manual@ribeye-seg@2.3.0');
    assert.equal(f.lineage.model_result_id, w.result);
    assert.equal(row!.created_by, w.users.admin);
  });

  test('bad input of every kind: a 4xx JSON answer naming the field, never a 500, and nothing written', async () => {
    const sql = db.sql;
    const truth = await editorPng(frame.truth);
    const [h, wd] = [frame.gray.height, frame.gray.width];
    const blank = await editorPng({ ...frame.truth, data: new Uint8Array(frame.truth.data.length) });
    const twoRegions = { ...frame.truth, data: frame.truth.data.slice() };
    for (let y = 2; y < 30; y++) for (let x = 2; x < 30; x++) twoRegions.data[y * wd + x] = 1;
    const tiny = { ...frame.truth, data: new Uint8Array(frame.truth.data.length) };
    for (let y = 100; y < 105; y++) for (let x = 100; x < 105; x++) tiny.data[y * wd + x] = 1;
    const cases: [
      string,
      () => Promise<{ status: number; body: { error: string; problems?: { pointer: string }[] } }>,
      number,
      string,
      string?,
    ][] = [
      [
        'JPEG instead of PNG',
        async () => correct('tech@example.com', w.scan, { mask: await sharp(truth).jpeg().toBuffer() }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'text instead of a PNG file',
        async () => correct('tech@example.com', w.scan, { mask: new TextEncoder().encode('not an image') }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'a PNG signature, then garbage',
        async () =>
          correct('tech@example.com', w.scan, { mask: Uint8Array.from([...truth.subarray(0, 40), 1, 2, 3]) }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'the mask as a text field',
        async () => correct('tech@example.com', w.scan, { mask: 'white' }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'no mask',
        async () => correct('tech@example.com', w.scan, { fat_line: '' }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'wrong size',
        async () =>
          correct('tech@example.com', w.scan, {
            mask: await sharp(truth)
              .resize(wd - 1, h)
              .png()
              .toBuffer(),
          }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'empty mask',
        async () => correct('tech@example.com', w.scan, { mask: blank }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'two regions',
        async () => correct('tech@example.com', w.scan, { mask: await editorPng(twoRegions) }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'too small',
        async () => correct('tech@example.com', w.scan, { mask: await editorPng(tiny) }),
        422,
        'invalid_request',
        '/mask',
      ],
      [
        'fat line outside the image',
        async () =>
          correct('tech@example.com', w.scan, {
            mask: truth,
            fat_line: JSON.stringify({ x1: 10, y1: 10, x2: wd + 5, y2: 20 }),
          }),
        422,
        'invalid_request',
        '/fat_line',
      ],
      [
        'fat line negative',
        async () =>
          correct('tech@example.com', w.scan, {
            mask: truth,
            fat_line: JSON.stringify({ x1: -1, y1: 10, x2: 10, y2: 20 }),
          }),
        422,
        'invalid_request',
        '/fat_line',
      ],
      [
        'fat line not JSON',
        async () => correct('tech@example.com', w.scan, { mask: truth, fat_line: '10,10,20,20' }),
        422,
        'invalid_request',
        '/fat_line',
      ],
      [
        'fat line missing y2',
        async () => correct('tech@example.com', w.scan, { mask: truth, fat_line: '{"x1":1,"y1":1,"x2":5}' }),
        422,
        'invalid_request',
        '/fat_line',
      ],
      [
        'fat line of no length',
        async () =>
          correct('tech@example.com', w.scan, { mask: truth, fat_line: '{"x1":5,"y1":5,"x2":5,"y2":5}' }),
        422,
        'invalid_request',
        '/fat_line',
      ],
      [
        'an unknown field',
        async () => correct('tech@example.com', w.scan, { mask: truth, colour: 'red' }),
        422,
        'invalid_request',
        '/colour',
      ],
      [
        'based on another scan’s result',
        async () =>
          correct('tech@example.com', w.scan, {
            mask: truth,
            based_on_result_id: '00000000-0000-4000-8000-000000000000',
          }),
        422,
        'invalid_request',
        '/based_on_result_id',
      ],
      [
        'JSON instead of multipart',
        async () =>
          (await as('tech@example.com')).request('POST', `/api/v1/scans/${w.scan}/corrections`, {
            body: { mask: 'x' },
          }),
        415,
        'unsupported_media_type',
      ],
      [
        'a broken multipart body',
        async () =>
          (await as('tech@example.com')).request('POST', `/api/v1/scans/${w.scan}/corrections`, {
            body: '--x\r\nContent-Disposition: form-data; name="mask"\r\n\r\nabc',
            headers: { 'content-type': 'multipart/form-data; boundary=y' },
          }),
        400,
        'invalid_multipart',
      ],
      [
        'over 1 MiB',
        async () => correct('tech@example.com', w.scan, { mask: new Uint8Array(1100 * 1024) }),
        413,
        'body_too_large',
      ],
      [
        'no CSRF header',
        async () => correct('tech@example.com', w.scan, { mask: truth }, { csrf: false }),
        403,
        'csrf_failed',
      ],
      [
        'another farm’s scan',
        async () => correct('tech@example.com', w.other, { mask: truth }),
        404,
        'not_found',
      ],
      [
        'a missing scan',
        async () => correct('tech@example.com', '00000000-0000-4000-8000-000000000000', { mask: truth }),
        404,
        'not_found',
      ],
      [
        'a malformed id',
        async () => correct('tech@example.com', 'not-a-uuid', { mask: truth }),
        404,
        'not_found',
      ],
      [
        'a farmer of the farm',
        async () => correct('farmer@example.com', w.scan, { mask: truth }),
        403,
        'forbidden',
      ],
      [
        'a farmer of another farm',
        async () => correct('farmer@example.com', w.other, { mask: truth }),
        404,
        'not_found',
      ],
      [
        'not signed in',
        async () =>
          apiClient(app.app).request('POST', `/api/v1/scans/${w.scan}/corrections`, {
            body: form({ mask: truth }),
          }),
        401,
        'unauthenticated',
      ],
      [
        'a scan not graded yet',
        async () => correct('tech@example.com', w.ungraded, { mask: truth }),
        409,
        'not_graded',
      ],
      [
        'a scan without an image',
        async () => correct('tech@example.com', w.noImage, { mask: truth }),
        409,
        'no_image',
      ],
      [
        'an image whose bytes differ from its sha256',
        async () => correct('admin@example.com', w.tampered, { mask: truth }),
        409,
        'image_mismatch',
      ],
    ];
    for (const [name, send, status, error, pointer] of cases) {
      const before = await snapshot(sql);
      const res = await send();
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, error, name);
      if (pointer)
        assert.ok(
          res.body.problems?.some((p) => p.pointer === pointer),
          `${name} names ${pointer}: ${JSON.stringify(res.body)}`,
        );
      assert.deepEqual(await snapshot(sql), before, `${name}: nothing written`);
    }
  });

  test('a stray region at least 5 % of the ribeye is refused; a smaller one is dropped', async () => {
    const wd = frame.gray.width;
    const area = count(fillHoles(largestComponent(frame.truth)));
    const withBlob = (side: number) => {
      const m = { ...frame.truth, data: frame.truth.data.slice() };
      for (let y = 2; y < 2 + side; y++) for (let x = 2; x < 2 + side; x++) m.data[y * wd + x] = 1;
      return m;
    };
    const big = Math.ceil(Math.sqrt(0.05 * area));
    const small = Math.floor(Math.sqrt(0.05 * area)) - 1;
    assert.equal(
      (await correct('tech@example.com', w.scan, { mask: await editorPng(withBlob(big)) })).status,
      422,
    );
    const ok = await correct('tech@example.com', w.scan, { mask: await editorPng(withBlob(small)) });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.grading_result.features_used.correction.dropped_px, small * small);
    assert.equal(ok.body.grading_result.features_used.roi_area_px, area);
  });

  test('an image declaring more than 40 MP is refused from its header (409 image_too_large), never decoded', async () => {
    // Its header alone (no pixel rows): the decoder would call it undecodable, so image_too_large
    // shows the size was checked before decoding (a 750 kB PNG of 16000×16000 decodes to 768 MB).
    const huge = await seedCorrectableScan(db.sql, s3.client, {
      bucket: BUCKET,
      farmId: w.farmA,
      deviceId: w.devA,
      frame: { ...frame, png: pngDeclaring(16_000, 16_000, { rgb: true, pixels: false }) },
      captureId: `cap_${++n}`,
    });
    const before = await snapshot(db.sql);
    const res = await correct('tech@example.com', huge.scanId, { mask: await editorPng(frame.truth) });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.error, 'image_too_large');
    assert.deepEqual(await snapshot(db.sql), before);
  });

  test('without S3 settings: 503 storage_not_configured, nothing written', async () => {
    const bare = createTestApp(db.sql);
    try {
      const c = apiClient(bare.app);
      assert.equal((await c.signIn('admin@example.com', TEST_PASSWORD)).status, 200);
      const before = await snapshot(db.sql);
      const res = await c.request('POST', `/api/v1/scans/${w.scan}/corrections`, {
        body: form({ mask: await editorPng(frame.truth) }),
      });
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'storage_not_configured');
      assert.deepEqual(await snapshot(db.sql), before);
    } finally {
      await bare.close();
    }
  });

  test('the model mask seeded here differs from the truth (the correction changes something)', () => {
    assert.ok(count(modelMask(frame.truth)) < count(frame.truth));
  });
});

// Two editors on one scan: a correction is recorded only on the result the person saw, checked again in
// the transaction that records it (the scan row locked), so a second editor cannot replace a correction
// they never saw, and access lost during the upload is refused there too. The requests are real and
// concurrent; a test transaction holding the scan row makes both reach the record before either writes.
describe('corrections at once (lost updates)', () => {
  const seedScan = async () =>
    seedCorrectableScan(db.sql, s3.client, {
      bucket: BUCKET,
      farmId: w.farmA,
      deviceId: w.devA,
      frame,
      captureId: `cap_${++n}`,
    });
  const rows = async (scanId: string) => {
    const [r] = await db.sql`
      SELECT (SELECT count(*) FROM grading_results WHERE scan_id = ${scanId})::int AS results,
             (SELECT count(*) FROM assets)::int AS assets,
             (SELECT count(*) FROM scan_events WHERE scan_id = ${scanId})::int AS events,
             (SELECT count(*) FROM assets a
               WHERE NOT EXISTS (SELECT 1 FROM grading_result_assets l WHERE l.asset_id = a.id)
                 AND NOT EXISTS (SELECT 1 FROM scans s
                                  WHERE a.id IN (s.image_asset_id, s.mask_asset_id)))::int AS orphans`;
    return r!;
  };
  /** Runs `during` while a transaction holds the scan row, then lets the waiting requests through. */
  async function holdingScan<T>(
    scanId: string,
    waiters: number,
    start: () => Promise<T>,
    during?: (tx: Sql) => Promise<void>,
  ) {
    const conn = await db.sql.reserve();
    try {
      await conn`BEGIN`;
      await conn`SELECT id FROM scans WHERE id = ${scanId} FOR UPDATE`;
      const pending = start();
      await waitFor(
        async () =>
          (
            await db.sql`SELECT count(*)::int AS n FROM pg_stat_activity
                          WHERE datname = current_database() AND wait_event_type = 'Lock'`
          )[0]!.n >= waiters,
        { what: `${waiters} correction(s) waiting on the scan row`, timeoutMs: 20_000 },
      );
      await during?.(conn as unknown as Sql);
      await conn`COMMIT`;
      return await pending;
    } finally {
      conn.release();
    }
  }

  test('a correction of a result that is no longer the latest: 409 stale_base naming both, nothing written', async () => {
    const scan = await seedScan();
    const first = await correct('admin@example.com', scan.scanId, {
      mask: await editorPng(frame.truth),
      based_on_result_id: scan.resultId!,
    });
    assert.equal(first.status, 201, first.text);
    const before = await snapshot(db.sql);
    const res = await correct('tech@example.com', scan.scanId, {
      mask: await editorPng(frame.truth),
      based_on_result_id: scan.resultId!,
    });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.error, 'stale_base');
    assert.ok(res.body.message.includes(scan.resultId!), res.body.message);
    assert.ok(res.body.message.includes(first.body.grading_result.id), res.body.message);
    assert.match(res.body.message, /reload/);
    assert.deepEqual(await snapshot(db.sql), before, 'refused before the upload: no row, no object');
  });

  test('a correction of a result that withheld its spacing (spacing_conflict) says so too, not no_spacing', async () => {
    const scan = await seedScan();
    // What the worker writes when a device calibration disagrees with the screen's ruler (review r2 F2).
    const problem = {
      reason: 'spacing_conflict',
      source: 'device_calibration',
      message: 'the device calibration (0.33 mm/px) and the on-screen ruler (0.3 mm/px) disagree by 10 %',
    };
    await db.sql`
      UPDATE grading_results
         SET grade = 'M', grade_reasons = ${['spacing_conflict']}::text[],
             features_used = jsonb_set(
               jsonb_set(jsonb_set(jsonb_set(features_used, '{pixel_spacing_mm}', 'null'), '{pixel_spacing_source}', '"none"'),
                         '{rea_cm2}', 'null'),
               '{lineage,pixel_spacing}', ${db.sql.json({ mm: 0.33, source: 'device_calibration', problem })})
       WHERE id = ${scan.resultId!}`;
    const res = await correct('admin@example.com', scan.scanId, {
      mask: await editorPng(frame.truth),
      based_on_result_id: scan.resultId!,
    });
    assert.equal(res.status, 201, res.text);
    const [row] =
      await db.sql`SELECT grade, grade_reasons, features_used FROM grading_results WHERE id = ${res.body.grading_result.id}`;
    assert.equal(row!.grade, 'M');
    assert.ok(row!.grade_reasons.includes('spacing_conflict'), row!.grade_reasons.join());
    assert.ok(!row!.grade_reasons.includes('no_spacing'), row!.grade_reasons.join());
    assert.equal(row!.features_used.rea_cm2, null);
    assert.equal(row!.features_used.missing_reasons.rea_cm2, 'spacing_conflict');
    assert.deepEqual(row!.features_used.lineage.pixel_spacing.problem, problem);
  });

  test('a correction of a result graded with non-square pixels measures with its aspect: the area, and a drawn line per axis', async () => {
    const scan = await seedScan();
    // What the worker writes for meta.json acquisition.pixel_aspect 0.889 (a 720×480 frame grabber).
    await db.sql`
      UPDATE grading_results
         SET features_used = features_used || ${db.sql.json({ pixel_aspect: 0.889, pixel_aspect_source: 'meta' })}
       WHERE id = ${scan.resultId!}`;
    const line = { x1: 100, y1: 20, x2: 130, y2: 40 };
    const res = await correct('admin@example.com', scan.scanId, {
      mask: await editorPng(frame.truth),
      fat_line: JSON.stringify(line),
      based_on_result_id: scan.resultId!,
    });
    assert.equal(res.status, 201, res.text);
    const [row] =
      await db.sql`SELECT features_used FROM grading_results WHERE id = ${res.body.grading_result.id}`;
    const f = row!.features_used;
    const s = frame.spacingMm;
    assert.deepEqual([f.pixel_aspect, f.pixel_aspect_source], [0.889, 'meta']);
    assert.deepEqual(f.lineage.pixel_aspect, { value: 0.889, source: 'meta', from_result_id: scan.resultId });
    assert.equal(f.rea_cm2, Math.round(((f.roi_area_px * s * s * 0.889) / 100) * 1000) / 1000);
    assert.equal(f.fat_thickness_px, Math.round(Math.hypot(30, 20) * 100) / 100, 'pixels as drawn');
    assert.equal(f.fat_thickness_mm, Math.round(Math.hypot(30 * s * 0.889, 20 * s) * 100) / 100);
  });

  test('two corrections of the same result at once: one is recorded, the other 409 stale_base, no orphan asset', async () => {
    for (const basedOn of ['named', 'default'] as const) {
      const scan = await seedScan();
      const before = await rows(scan.scanId);
      const parts = async () => ({
        mask: await editorPng(frame.truth),
        ...(basedOn === 'named' ? { based_on_result_id: scan.resultId! } : {}),
      });
      const [a, b] = await holdingScan(scan.scanId, 2, async () => {
        const [pa, pb] = [await parts(), await parts()];
        return Promise.all([
          correct('admin@example.com', scan.scanId, pa),
          correct('tech@example.com', scan.scanId, pb),
        ]);
      });
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [201, 409], `${basedOn}: ${a.text} / ${b.text}`);
      const refused = a.status === 409 ? a : b;
      const saved = a.status === 201 ? a : b;
      assert.equal(refused.body.error, 'stale_base');
      assert.ok(refused.body.message.includes(saved.body.grading_result.id), refused.body.message);
      const after = await rows(scan.scanId);
      assert.equal(after.results, before.results + 1, 'one correction recorded');
      assert.equal(after.assets, before.assets + 2, 'the mask and overlay of that one only');
      assert.equal(after.events, before.events + 1);
      assert.equal(after.orphans, before.orphans, 'no asset row left without its result');
    }
  });

  test('access lost while the correction uploads: refused where it is recorded (404), nothing recorded', async () => {
    const scan = await seedScan();
    const before = await rows(scan.scanId);
    const [link] =
      await db.sql`SELECT * FROM user_farms WHERE user_id = ${w.users.technician} AND farm_id = ${w.farmA}`;
    try {
      const res = await holdingScan(
        scan.scanId,
        1,
        async () => correct('tech@example.com', scan.scanId, { mask: await editorPng(frame.truth) }),
        async (tx) => {
          await tx`DELETE FROM user_farms WHERE user_id = ${w.users.technician} AND farm_id = ${w.farmA}`;
        },
      );
      assert.equal(res.status, 404, res.text);
      assert.deepEqual(await rows(scan.scanId), before);
    } finally {
      await db.sql`INSERT INTO user_farms ${db.sql(link!)} ON CONFLICT DO NOTHING`;
    }
  });
});
