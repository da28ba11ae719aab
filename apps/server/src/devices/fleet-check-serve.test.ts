import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import { createTestApp, SOURCE_NODE_ARGS } from '../test-helpers.ts';
import { addDeviceKey } from './device-keys.ts';
import { createStaff, heartbeatBody, notificationsOf, signedHeartbeat } from './test-heartbeats.ts';

// The real `cti-server serve`, spawned with its wall clock 60 s ahead (a replica whose host clock
// drifted) and a 3 s silence threshold checked every second: silence is judged on the database's
// clock and only for time this process could hear the device (review r11 F1, F13).

const MAIN = new URL('../main.ts', import.meta.url).pathname;
const SHIFTED_CLOCK = `data:text/javascript,${encodeURIComponent(`
  const RealDate = Date;
  globalThis.Date = class extends RealDate {
    constructor(...a) { if (a.length === 0) super(RealDate.now() + 60000); else super(...a); }
    static now() { return RealDate.now() + 60000; }
  };`)}`;

let db: TestDatabase;
let child: ChildProcess | undefined;
before(async () => {
  db = await createTestDatabase();
  await createStaff(db.sql);
});
after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child!.once('exit', resolve));
  }
  await db.drop();
});

/** A heartbeat signed at `at`: the database's time it was received at. */
async function beat(secret: string, code: string, at: number): Promise<Date> {
  const app = createTestApp(db.sql, {}, { clock: () => at });
  try {
    const init = signedHeartbeat(secret, heartbeatBody(code, new Date(at)), {
      timestamp: Math.floor(at / 1000),
    });
    const res = await app.app.request('/devices/heartbeat', init);
    assert.equal(res.status, 200, await res.clone().text());
    return new Date(((await res.json()) as { received_at: string }).received_at);
  } finally {
    await app.close();
  }
}

test('a replica 60 s ahead, started just after a heartbeat: no device is silent before the threshold passed on the database clock', async () => {
  const { secret: a } = await addDeviceKey(db.sql, 'dev-a', { label: null });
  const { secret: b } = await addDeviceKey(db.sql, 'dev-b', { label: null });
  // Heard just before this server started (deaf time up to one threshold is taken off; an hour of it
  // would not be, review r13 F1).
  await beat(b, 'dev-b', Date.now());
  let output = '';
  child = spawn(process.execPath, ['--import', SHIFTED_CLOCK, ...SOURCE_NODE_ARGS, MAIN, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: db.url,
      CTI_WEBHOOK_SECRETS: 'a-webhook-secret-long-enough',
      CTI_S3_BUCKETS: 'cti-dev-406214277746',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      CTI_DEVICE_SILENT_AFTER_S: '3',
      CTI_DEVICE_CHECK_INTERVAL_S: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  await waitFor(() => output.includes('"listening"'), { what: `serve listening:\n${output}` });
  const heardA = await beat(a, 'dev-a', Date.now());
  await new Promise((resolve) => setTimeout(resolve, 1500));
  // Before: the replica's own clock (60 s ahead) declared dev-a silent 1 s after its heartbeat, and
  // dev-b (last heard before this process listened) at the first check.
  assert.deepEqual(await notificationsOf(db.sql, 'device_silent'), [], output);
  // A real silence is still told: each device 3 s after the server could last have heard it.
  const silent = await waitFor(
    async () => {
      const rows = await db.sql<{ device_code: string; silent_since: Date; claimed: Date }[]>`
        SELECT d.device_code, h.silent_since, n.created_at AS claimed
          FROM device_health h JOIN devices d ON d.id = h.device_id
          JOIN notifications n ON n.dedupe_key LIKE 'device_silent:' || d.id || ':%'
         WHERE h.silent_since IS NOT NULL ORDER BY d.device_code`;
      return new Set(rows.map((r) => r.device_code)).size === 2 && rows;
    },
    { timeoutMs: 10_000, what: 'both devices silent' },
  );
  const claimedA = silent.find((r) => r.device_code === 'dev-a')!;
  assert.deepEqual(claimedA.silent_since, heardA);
  const toldAfterMs = claimedA.claimed.getTime() - heardA.getTime();
  assert.ok(toldAfterMs >= 3000, `dev-a told ${toldAfterMs} ms after it was heard`);
});
