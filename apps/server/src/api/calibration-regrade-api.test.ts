import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_CALIBRATION_REGRADE_JOBS } from '../grading/device-calibration.ts';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// POST /api/v1/devices/{id}/calibrations with `regrade: true`: the row and a regrade job for each scan
// it applies to, in one transaction, never a second waiting job for a scan, refused over the cap with
// nothing written — on a real database (real migrations).

const f = {} as Record<
  'farm' | 'dev' | 'other' | 'big' | 'jan' | 'feb10' | 'feb16' | 'feb20' | 'mar10' | 'otherFeb',
  string
>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      const sql = db.sql;
      f.farm = await seedFarm(sql, 'Regrade farm');
      f.dev = await seedDevice(sql, 'dev-rg', f.farm);
      f.other = await seedDevice(sql, 'dev-rg-other', f.farm);
      f.big = await seedDevice(sql, 'dev-rg-big', f.farm);
      await seedUser(sql, 'admin@example.com', ['admin']);
      const on = (deviceId: string, capturedAt: string) =>
        seedScan(sql, { farmId: f.farm, deviceId, capturedAt, status: 'graded' });
      f.jan = await on(f.dev, '2025-01-15T12:00:00Z');
      f.feb10 = await on(f.dev, '2025-02-10T12:00:00Z');
      f.feb16 = await on(f.dev, '2025-02-16T12:00:00Z');
      f.feb20 = await on(f.dev, '2025-02-20T12:00:00Z');
      f.mar10 = await on(f.dev, '2025-03-10T12:00:00Z');
      f.otherFeb = await on(f.other, '2025-02-10T12:00:00Z');
      // feb20 already waits for a job (e.g. from `cti-server regrade`): it is not queued twice.
      await sql`INSERT INTO grading_jobs (scan_id, reason) VALUES (${f.feb20}, 'regrade')`;
      // One more scan than the cap, on their own device.
      await sql`
        INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, captured_at, status)
        SELECT 'cap_big_' || n, 's3://b/raw/dev-rg-big/2025/06/01/cap_big_' || n || '/', ${f.big}, ${f.farm},
               '2025-06-01T00:00:00Z'::timestamptz + n * interval '1 second', 'graded'
        FROM generate_series(1, ${MAX_CALIBRATION_REGRADE_JOBS + 1}) AS n`;
    },
  },
);

let admin: ApiClient;
async function signedIn(): Promise<ApiClient> {
  if (!admin) {
    admin = apiClient(ctx.server.app);
    assert.equal((await admin.signIn('admin@example.com', TEST_PASSWORD)).status, 200);
  }
  return admin;
}
const path = (device: string) => `/api/v1/devices/${device}/calibrations`;
const sql = () => ctx.db.sql;

/** Waiting or running jobs per scan of the device, by scan id (scans without one left out). */
async function activeJobs(deviceId: string): Promise<Record<string, number>> {
  const rows = await sql()<{ scan_id: string; n: number }[]>`
    SELECT j.scan_id::text AS scan_id, count(*)::int AS n FROM grading_jobs j JOIN scans s ON s.id = j.scan_id
     WHERE s.device_id = ${deviceId} AND j.status IN ('queued', 'running') GROUP BY j.scan_id`;
  return Object.fromEntries(rows.map((r) => [r.scan_id, r.n]));
}

describe('setting a calibration with regrade', () => {
  test('without regrade (the default) nothing is queued', async () => {
    const res = await (await signedIn()).request('POST', path(f.dev), {
      body: { pixel_spacing_mm: 0.3, valid_from: '2025-03-01T00:00:00Z' },
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual([res.body.regrade_jobs_queued, res.body.regrade_already_pending], [0, 0]);
    const off = await (await signedIn()).request('POST', path(f.dev), {
      body: {
        pixel_spacing_mm: 0.25,
        image_width: 640,
        image_height: 480,
        valid_from: '2025-02-15T00:00:00Z',
        regrade: false,
      },
    });
    assert.equal(off.status, 201, off.text);
    assert.equal(off.body.regrade_jobs_queued, 0);
    assert.deepEqual(await activeJobs(f.dev), { [f.feb20]: 1 }, 'only the job that was already there');
  });

  test('the scans the row applies to (device, from valid_from, until a newer row covers its size) get one job each', async () => {
    // 940×720 from Feb 1: the any-size row from Mar 1 takes over then; the 640×480 row from Feb 15
    // does not cover 940×720 images, so Feb 16 is still this row's (sizes are not stored: every size).
    const res = await (await signedIn()).request('POST', path(f.dev), {
      body: {
        pixel_spacing_mm: 0.29586,
        image_width: 940,
        image_height: 720,
        valid_from: '2025-02-01T00:00:00Z',
        regrade: true,
      },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.regrade_jobs_queued, 2, 'Feb 10 and Feb 16');
    assert.equal(res.body.regrade_already_pending, 1, 'Feb 20 already had one');
    assert.equal(res.body.items[0].valid_from, '2025-03-01T00:00:00.000Z', 'the list is the new history');
    assert.deepEqual(await activeJobs(f.dev), { [f.feb10]: 1, [f.feb16]: 1, [f.feb20]: 1 });
    assert.deepEqual(await activeJobs(f.other), {}, "another device's scan is not touched");
    const [job] = await sql()`
      SELECT reason, model_version FROM grading_jobs WHERE scan_id = ${f.feb10} AND status = 'queued'`;
    assert.deepEqual({ ...job }, { reason: 'regrade', model_version: null });

    // The same request again: a new history row, but no second waiting job for any scan.
    const again = await (await signedIn()).request('POST', path(f.dev), {
      body: {
        pixel_spacing_mm: 0.29586,
        image_width: 940,
        image_height: 720,
        valid_from: '2025-02-01T00:00:00Z',
        regrade: true,
      },
    });
    assert.equal(again.status, 201, again.text);
    assert.deepEqual([again.body.regrade_jobs_queued, again.body.regrade_already_pending], [0, 3]);
    assert.deepEqual(await activeJobs(f.dev), { [f.feb10]: 1, [f.feb16]: 1, [f.feb20]: 1 });
  });

  test('a clear with regrade queues the scans it withdraws the calibration from', async () => {
    const res = await (await signedIn()).request('POST', path(f.dev), {
      body: { pixel_spacing_mm: null, valid_from: '2025-03-05T00:00:00Z', regrade: true },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.regrade_jobs_queued, 1, 'Mar 10');
    assert.equal((await activeJobs(f.dev))[f.mar10], 1);
    assert.equal((await activeJobs(f.dev))[f.jan], undefined, 'January is before every row');
  });

  test(`more than ${MAX_CALIBRATION_REGRADE_JOBS} jobs: 422 naming the count and the command, nothing written`, async () => {
    const rows = async () =>
      (await sql()`SELECT count(*)::int AS n FROM device_calibrations WHERE device_id = ${f.big}`)[0]!.n;
    const res = await (await signedIn()).request('POST', path(f.big), {
      body: { pixel_spacing_mm: 0.3, valid_from: '2025-05-01T00:00:00Z', regrade: true },
    });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.error, 'too_many_regrades');
    assert.match(res.body.message, new RegExp(`${MAX_CALIBRATION_REGRADE_JOBS + 1} scans to regrade`));
    assert.match(res.body.message, /cti-server regrade --device dev-rg-big --since 2025-05-01T00:00:00.000Z/);
    assert.deepEqual(
      res.body.problems.map((p: { pointer: string }) => p.pointer),
      ['/regrade'],
    );
    assert.equal(await rows(), 0, 'no calibration row');
    assert.deepEqual(await activeJobs(f.big), {}, 'no job');

    // With one of them already waiting, exactly the cap remains to queue: accepted.
    const [one] = await sql()<{ id: string }[]>`SELECT id FROM scans WHERE device_id = ${f.big} LIMIT 1`;
    await sql()`INSERT INTO grading_jobs (scan_id, reason) VALUES (${one!.id}, 'regrade')`;
    const ok = await (await signedIn()).request('POST', path(f.big), {
      body: { pixel_spacing_mm: 0.3, valid_from: '2025-05-01T00:00:00Z', regrade: true },
    });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(
      [ok.body.regrade_jobs_queued, ok.body.regrade_already_pending],
      [MAX_CALIBRATION_REGRADE_JOBS, 1],
    );
    assert.equal(await rows(), 1);
  });

  test('regrade must be a boolean', async () => {
    const res = await (await signedIn()).request('POST', path(f.dev), {
      body: { pixel_spacing_mm: 0.3, regrade: 'yes' },
    });
    assert.equal(res.status, 422);
    assert.ok(
      res.body.problems.some((p: { pointer: string }) => p.pointer === '/regrade'),
      res.text,
    );
  });

  test('a scan corrected by hand is not regraded: the model would replace the correction', async () => {
    const db = sql();
    const device = await seedDevice(db, 'dev-rg-corrected', f.farm);
    const [admin] = await db<{ id: string }[]>`SELECT id FROM users WHERE email = 'admin@example.com'`;
    const corrected = await seedScan(db, {
      farmId: f.farm,
      deviceId: device,
      capturedAt: '2025-04-02T12:00:00Z',
      status: 'graded',
    });
    const modelOnly = await seedScan(db, {
      farmId: f.farm,
      deviceId: device,
      capturedAt: '2025-04-03T12:00:00Z',
      status: 'graded',
    });
    await db`INSERT INTO grading_results (scan_id, model_name, model_version, created_at)
             VALUES (${corrected}, 'ribeye-seg', '3.0.0', now() - interval '1 hour'), (${modelOnly}, 'ribeye-seg', '3.0.0', now())`;
    await db`INSERT INTO grading_results (scan_id, model_name, model_version, created_by)
             VALUES (${corrected}, 'manual', '1', ${admin!.id})`;
    const res = await (await signedIn()).request('POST', path(device), {
      body: { pixel_spacing_mm: 0.31, valid_from: '2025-04-01T00:00:00Z', regrade: true },
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(
      [res.body.regrade_jobs_queued, res.body.regrade_already_pending, res.body.regrade_kept_corrected],
      [1, 0, 1],
    );
    assert.deepEqual(await activeJobs(device), { [modelOnly]: 1 });
  });
});
