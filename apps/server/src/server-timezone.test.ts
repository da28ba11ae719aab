import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { signWebhook } from '@cti/contracts';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { distinctWebhook, SOURCE_NODE_ARGS, TEST_BUCKET, TEST_SECRET } from './test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from './test-seed.ts';

// The real server spawned with TZ=Pacific/Kiritimati (UTC+14, the furthest from UTC): webhook
// timestamps, session expiry, date filters and every timestamp in answers must be exactly what they
// are in UTC. (The closest existing system checked webhook timestamps with a naive local clock.)

const MAIN = new URL('./main.ts', import.meta.url).pathname;
let db: TestDatabase;
let child: ChildProcess | undefined;
let base = '';

before(async () => {
  db = await createTestDatabase();
  const farm = await seedFarm(db.sql, 'Far East');
  await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: farm }] });
  const device = await seedDevice(db.sql, 'dev-tz', farm);
  await seedScan(db.sql, {
    farmId: farm,
    deviceId: device,
    capturedAt: '2025-09-09T23:30:00Z',
    captureId: 'cap_tz_late',
  });
  await seedScan(db.sql, {
    farmId: farm,
    deviceId: device,
    capturedAt: '2025-09-10T10:30:00Z',
    captureId: 'cap_tz_next',
  });
  child = spawn(process.execPath, [...SOURCE_NODE_ARGS, MAIN], {
    env: {
      PATH: process.env.PATH,
      TZ: 'Pacific/Kiritimati',
      DATABASE_URL: db.url,
      CTI_WEBHOOK_SECRETS: TEST_SECRET,
      CTI_S3_BUCKETS: TEST_BUCKET,
      HOST: '127.0.0.1',
      PORT: '0',
      CTI_INSECURE_LOCALHOST_COOKIES: '1',
      CTI_SCRYPT_LOG2_N: '10',
      CTI_SCRYPT_P: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child!.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    createInterface({ input: child!.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'listening' && entry.port) resolve(entry.port);
    });
  });
  base = `http://localhost:${port}`;
});
after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await db?.drop();
});

test('the child really runs in UTC+14', async () => {
  const out = await new Promise<string>((resolve) => {
    const p = spawn(
      process.execPath,
      ['-e', 'process.stdout.write(String(new Date().getTimezoneOffset()))'],
      { env: { TZ: 'Pacific/Kiritimati' } },
    );
    let s = '';
    p.stdout.on('data', (c: Buffer) => (s += c));
    p.on('exit', () => resolve(s));
  });
  assert.equal(out, '-840');
});

test('a webhook signed now is accepted; one 10 minutes old is refused as stale', async () => {
  const body = JSON.stringify(distinctWebhook(77));
  const post = (timestamp: number) =>
    fetch(`${base}/ingest/webhook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signWebhook({ body, secret: TEST_SECRET, timestamp }),
      },
      body,
    });
  const stale = await post(Math.floor(Date.now() / 1000) - 600);
  assert.equal(stale.status, 401);
  assert.equal(((await stale.json()) as { error: string }).error, 'stale_timestamp');
  assert.equal((await post(Math.floor(Date.now() / 1000))).status, 201);
});

test('sessions, date filters and timestamps are UTC whatever the server’s zone', async () => {
  const signIn = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'farmer@example.com', password: TEST_PASSWORD }),
  });
  assert.equal(signIn.status, 200);
  const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
  const maxAge = Number(/Max-Age=(\d+)/.exec(signIn.headers.getSetCookie()[0]!)?.[1]);
  assert.ok(Math.abs(maxAge - 7 * 86_400) < 5, `cookie lives the configured 7 days (${maxAge} s)`);
  type Answer = { items: Record<string, string>[]; email: string };
  const get = async (path: string) =>
    (await (await fetch(`${base}${path}`, { headers: { cookie } })).json()) as Answer;
  const day = await get('/api/v1/scans?from=2025-09-09T00:00:00Z&to=2025-09-10T00:00:00Z');
  assert.deepEqual(
    day.items.map((s) => s.capture_id),
    ['cap_tz_late'],
  );
  assert.equal(day.items[0]!.captured_at, '2025-09-09T23:30:00.000Z');
  const me = await get('/api/v1/me');
  assert.equal(me.email, 'farmer@example.com', 'a fresh session is not taken for expired');
  const devices = await get('/api/v1/devices');
  assert.match(devices.items[0]!.today_starts_at!, /T00:00:00.000Z$/, '"today" defaults to the UTC day');
});
