import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ApiClient, apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// GET /api/v1/scans/counts: by status overall and for the last 24 hours, with the list's filters and
// only what the caller may see. The scans list test's data are all older than a day (its last-24h
// figure is 0 there), so here the recent scans are real and counted.

const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const f = {} as Record<'own' | 'other' | 'devOwn' | 'devOther', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      const sql = db.sql;
      f.own = await seedFarm(sql, 'Own');
      f.other = await seedFarm(sql, 'Other', { lon: -80, lat: 42 });
      f.devOwn = await seedDevice(sql, 'dev-own', f.own);
      f.devOther = await seedDevice(sql, 'dev-other', f.other);
      await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: f.own }] });
      await seedUser(sql, 'admin@example.com', ['admin']);
      const own = { farmId: f.own, deviceId: f.devOwn };
      // Own farm: 3 in the last day (2 graded, 1 ingested), 2 older (1 graded, 1 error).
      await seedScan(sql, { ...own, capturedAt: ago(10 * 60_000), status: 'graded' });
      await seedScan(sql, { ...own, capturedAt: ago(5 * HOUR), status: 'graded' });
      await seedScan(sql, { ...own, capturedAt: ago(23 * HOUR), status: 'ingested' });
      await seedScan(sql, { ...own, capturedAt: ago(25 * HOUR), status: 'graded' });
      await seedScan(sql, { ...own, capturedAt: ago(30 * 24 * HOUR), status: 'error' });
      // Own farm, device clock ahead: 2 minutes (within the 5-minute tolerance: counted as now) and
      // a day ahead ("tomorrow": in the totals, not in the last 24 hours, reported as ahead).
      await seedScan(sql, { ...own, capturedAt: ago(-2 * 60_000), status: 'graded' });
      await seedScan(sql, { ...own, capturedAt: ago(-26 * HOUR), status: 'graded' });
      // Other farm: 2 in the last day.
      const other = { farmId: f.other, deviceId: f.devOther };
      await seedScan(sql, { ...other, capturedAt: ago(HOUR), status: 'graded' });
      await seedScan(sql, { ...other, capturedAt: ago(2 * HOUR), status: 'error' });
    },
  },
);

async function as(email: string): Promise<ApiClient> {
  const client = apiClient(ctx.server.app);
  assert.equal((await client.signIn(email, TEST_PASSWORD)).status, 200);
  return client;
}

test('counts by status, overall and for the last 24 hours, of what the caller may see', async () => {
  const farmer = await as('farmer@example.com');
  const mine = await farmer.request('GET', '/api/v1/scans/counts');
  assert.equal(mine.status, 200);
  assert.equal(mine.body.total, 7);
  assert.deepEqual(
    [mine.body.by_status.graded, mine.body.by_status.ingested, mine.body.by_status.error],
    [5, 1, 1],
  );
  assert.equal(
    mine.body.last_24h.total,
    4,
    'the other farm’s recent scans and the one from tomorrow are not counted',
  );
  assert.deepEqual([mine.body.last_24h.by_status.graded, mine.body.last_24h.by_status.ingested ?? 0], [3, 1]);
  assert.equal(mine.body.captured_ahead, 1, 'the scan captured a day ahead is reported apart');
  assert.equal(mine.body.last_24h.by_status.error ?? 0, 0, 'the error scan is a month old');

  const admin = await as('admin@example.com');
  const all = await admin.request('GET', '/api/v1/scans/counts');
  assert.deepEqual([all.body.total, all.body.last_24h.total, all.body.captured_ahead], [9, 6, 1]);
  const other = await admin.request('GET', `/api/v1/scans/counts?farm_id=${f.other}`);
  assert.deepEqual([other.body.total, other.body.last_24h.total, other.body.captured_ahead], [2, 2, 0]);
  const graded = await admin.request('GET', '/api/v1/scans/counts?status=graded');
  assert.deepEqual([graded.body.total, graded.body.last_24h.total], [6, 4]);

  const refused = await farmer.request('GET', `/api/v1/scans/counts?farm_id=${f.other}`);
  assert.deepEqual([refused.body.total, refused.body.last_24h.total], [0, 0]);
});

test('a scan from a device clock running ahead is not "today" on the fleet, and the overview says so', async () => {
  const farmer = await as('farmer@example.com');
  const device = await farmer.request('GET', `/api/v1/devices/${f.devOwn}`);
  assert.equal(device.status, 200);
  // Captured "today" in UTC and not ahead: at most the 10-minute, 5-hour and 2-minute-ahead ones (the
  // day-ahead one never), however late in the UTC day the test runs.
  const today = new Date(device.body.today_starts_at).getTime();
  const expected = [10 * 60_000, 5 * HOUR, 23 * HOUR, -2 * 60_000].filter((ms) => Date.now() - ms >= today);
  assert.equal(device.body.scans_today, expected.length);
  const home = await farmer.request('GET', '/');
  assert.equal(home.status, 200);
  assert.match(home.text, /id="captured-ahead">\s*1 scan has a capture time in the future/);
});
