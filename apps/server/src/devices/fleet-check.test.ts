import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { LOCK_FLEET_CHECK, LOCK_NAMESPACE } from '@cti/db';
import { loadDeviceHealthConfig } from '../config.ts';
import { createDatabaseClient } from '../db/database-client.ts';
import { createTestApp } from '../test-helpers.ts';
import { startTcpProxy } from '../test-tcp-proxy.ts';
import type { DeafPeriod } from './deaf-periods.ts';
import { createFleetCheck, runFleetCheck } from './fleet-check.ts';
import {
  backdateHeartbeat,
  heartbeatBody,
  notificationsOf,
  signedHeartbeat,
  useFleetTestApp,
} from './test-heartbeats.ts';

// The periodic fleet check on a real database: silence episodes (once each, even with several replicas
// checking at once) and pruning of the bounded history.

const config = { silentAfterSeconds: 600, historyDays: 7 };
let now = Date.now();
const fleet = useFleetTestApp(() => now, [['dev-a']]);
let secret: string;
let deviceId: string;
beforeEach(async () => {
  now = Date.now();
  secret = fleet.secrets['dev-a']!;
  [{ id: deviceId }] = (await fleet.db.sql`SELECT id FROM devices`) as unknown as [{ id: string }];
});

/** A heartbeat signed (and sent) at `now`, received now by the database's clock: its id. */
async function beat(): Promise<string> {
  const init = signedHeartbeat(secret, heartbeatBody('dev-a', new Date(now)), {
    timestamp: Math.floor(now / 1000),
  });
  const res = await fleet.server.app.request('/devices/heartbeat', init);
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { heartbeat_id: string }).heartbeat_id;
}
/** By default a process that has heard everything: only the device's own silence counts. */
const check = (c: Parameters<typeof runFleetCheck>[1]['config'] = config, deaf: DeafPeriod[] = []) =>
  runFleetCheck(fleet.db.sql, { config: c, deaf });
/** The devices a check (that took the lock) found silent. */
const silentNow = async (c: Parameters<typeof check>[0] = config) => {
  const result = await check(c);
  return result.skipped ? null : result.silent;
};
const silentKey = (heardAt: number) => `device_silent:${deviceId}:${new Date(heardAt).toISOString()}`;
/**
 * A heartbeat the Pi sent, and the database received, `s` seconds ago (it is recorded on the database's
 * clock, so its times are moved back): its received_at in ms.
 */
async function beatSecondsAgo(s: number): Promise<number> {
  now = Date.now() - s * 1000;
  return (await backdateHeartbeat(fleet.db.sql, await beat(), s)).getTime();
}

describe('silence', () => {
  test('a device not heard for the configured time: admins and technicians told once per episode', async () => {
    const heardAt = await beatSecondsAgo(601);
    const notYet = await check({ ...config, silentAfterSeconds: 610 });
    assert.deepEqual(notYet, { skipped: false, silent: [], pruned: 0 });
    assert.deepEqual(await check(), { skipped: false, silent: ['dev-a'], pruned: 0 });
    for (let i = 0; i < 3; i++) await check();
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), [
      `admin@fleet.test ${silentKey(heardAt)}`,
      `technician@fleet.test ${silentKey(heardAt)}`,
    ]);
    const [health] = await fleet.db.sql`SELECT silent_since FROM device_health`;
    assert.deepEqual(health!.silent_since, new Date(heardAt));
    // Heard again: the episode ends. Silent again later: a new episode, a new notification.
    const again = await beatSecondsAgo(1);
    const [back] = await fleet.db.sql`SELECT silent_since FROM device_health`;
    assert.equal(back!.silent_since, null);
    assert.deepEqual(await check({ ...config, silentAfterSeconds: 1 }), {
      skipped: false,
      silent: ['dev-a'],
      pruned: 0,
    });
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), [
      `admin@fleet.test ${silentKey(heardAt)}`,
      `technician@fleet.test ${silentKey(heardAt)}`,
      `admin@fleet.test ${silentKey(again)}`,
      `technician@fleet.test ${silentKey(again)}`,
    ]);
    const [payload] = await fleet.db
      .sql`SELECT payload FROM notifications WHERE type = 'device_silent' ORDER BY id LIMIT 1`;
    assert.equal(payload!.payload.last_heard_at, new Date(heardAt).toISOString());
    assert.equal(payload!.payload.silent_after_s, 600);
  });

  test("silence is measured on the database clock, not the checking replica's (review r11 F13)", async () => {
    // A device heard 5 s ago by the database's clock is not silent after 60 s, whatever this
    // process's clock says; before, the check compared received_at with its own `new Date()`.
    await beatSecondsAgo(5);
    assert.deepEqual(await check({ ...config, silentAfterSeconds: 60 }), {
      skipped: false,
      silent: [],
      pruned: 0,
    });
    const [row] = await fleet.db.sql<
      { age: number }[]
    >`SELECT extract(epoch FROM now() - received_at)::float AS age FROM device_health`;
    assert.ok(row!.age >= 5 && row!.age < 60, String(row!.age));
  });

  test('a device that never sent a heartbeat is not "silent"', async () => {
    await fleet.db
      .sql`INSERT INTO devices (device_code, last_seen_at) VALUES ('dev-old', now() - interval '30 days')`;
    assert.deepEqual(await check(), { skipped: false, silent: [], pruned: 0 });
  });

  test('replicas checking at the same moment: one works, the others skip; still one notification each', async () => {
    await beatSecondsAgo(700);
    const results = await Promise.all([1, 2, 3, 4].map(() => check()));
    assert.equal(results.filter((r) => !r.skipped).length >= 1, true);
    assert.deepEqual(
      results.flatMap((r) => (r.skipped ? [] : r.silent)),
      ['dev-a'],
    );
    assert.equal((await notificationsOf(fleet.db.sql, 'device_silent')).length, 2);
  });

  test('while another session holds the lock the check skips; without the lock the row claim still holds', async () => {
    await beatSecondsAgo(700);
    const holder = await fleet.db.sql.reserve();
    try {
      await holder`BEGIN`;
      await holder`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${LOCK_FLEET_CHECK})`;
      assert.deepEqual(await check(), { skipped: true });
      await holder`COMMIT`;
    } finally {
      holder.release();
    }
    assert.equal((await check()).skipped, false);
    assert.equal((await notificationsOf(fleet.db.sql, 'device_silent')).length, 2);
  });
});

describe("a replica's own clock moves no device time (review r13 F7, review r11 F13)", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** A heartbeat of a Pi whose clock is right, received by a replica whose clock is `offsetMs` off. */
  async function beatThrough(offsetMs: number) {
    const replica = createTestApp(fleet.db.sql, {}, { clock: () => Date.now() + offsetMs });
    try {
      const sentAt = Date.now();
      const init = signedHeartbeat(secret, heartbeatBody('dev-a', new Date(sentAt)), {
        timestamp: Math.floor(sentAt / 1000),
      });
      const res = await replica.app.request('/devices/heartbeat', init);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as { received_at: string; server_time_ms: number };
    } finally {
      await replica.close();
    }
  }

  test('a replica 20 s behind, threshold 10 s: a Pi it heard just now is neither silent nor "back", round after round', async () => {
    const tenSeconds = { ...config, silentAfterSeconds: 10 };
    for (let round = 0; round < 3; round++) {
      const answer = await beatThrough(-20_000);
      assert.deepEqual(await check(tenSeconds), { skipped: false, silent: [], pruned: 0 }, `round ${round}`);
      const [row] = await fleet.db.sql<{ received_at: Date; last_seen_at: Date; clock_skew_ms: number }[]>`
        SELECT h.received_at, d.last_seen_at, h.clock_skew_ms FROM device_health h JOIN devices d ON d.id = h.device_id`;
      // The database's time, answered as it was stored; the Pi's clock is right, so its skew is transit only.
      assert.deepEqual(row!.received_at, new Date(answer.received_at));
      assert.deepEqual(row!.last_seen_at, row!.received_at);
      assert.ok(Math.abs(row!.clock_skew_ms) < 1000, `clock_skew_ms ${row!.clock_skew_ms}`);
      assert.ok(Math.abs(Date.now() - row!.received_at.getTime()) < 1000, row!.received_at.toISOString());
      // The agent measures its offset from server_time_ms: the database's clock too, not the replica's.
      assert.ok(
        Math.abs(answer.server_time_ms - Date.now()) < 1000,
        `server_time_ms ${answer.server_time_ms}`,
      );
      await sleep(50);
    }
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), []);
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_back'), []);
  });

  test('a replica 60 s ahead does not delay a real silence', async () => {
    const answer = await beatThrough(60_000);
    await sleep(1100);
    assert.deepEqual(await check({ ...config, silentAfterSeconds: 1 }), {
      skipped: false,
      silent: ['dev-a'],
      pruned: 0,
    });
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), [
      `admin@fleet.test ${silentKey(Date.parse(answer.received_at))}`,
      `technician@fleet.test ${silentKey(Date.parse(answer.received_at))}`,
    ]);
  });
});

describe('back online, and hysteresis (review r11 F8)', () => {
  const backKey = (heardAt: number) => `device_back:${deviceId}:${new Date(heardAt).toISOString()}`;

  test('the heartbeat that ends a notified silence writes device_back (same audience, the episode key, how long)', async () => {
    const heardAt = await beatSecondsAgo(700);
    await check();
    const backAt = await beatSecondsAgo(0);
    now += 1000;
    await beat();
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_back'), [
      `admin@fleet.test ${backKey(heardAt)}`,
      `technician@fleet.test ${backKey(heardAt)}`,
    ]);
    const [row] = await fleet.db.sql`SELECT payload FROM notifications WHERE type = 'device_back' LIMIT 1`;
    assert.equal(row!.payload.device_id, deviceId);
    assert.equal(row!.payload.last_heard_at, new Date(heardAt).toISOString());
    assert.ok(Math.abs(row!.payload.silent_for_s - 700) <= 1, String(row!.payload.silent_for_s));
    const [health] = await fleet.db.sql`SELECT silent_since, silence_ended_at FROM device_health`;
    assert.equal(health!.silent_since, null);
    assert.deepEqual(health!.silence_ended_at, new Date(backAt));
  });

  test('a check while the returning heartbeat is in flight: either no silence, or a silence and its device_back (review r13 F13)', async () => {
    await beatSecondsAgo(700);
    // Widen the window: the heartbeat stops at its history INSERT, after reading the device's health.
    const blocker = createDatabaseClient({ url: fleet.db.url, max: 1, connectTimeoutSeconds: 5 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let blocking!: Promise<unknown>;
    await new Promise<void>((locked) => {
      blocking = blocker.begin(async (tx) => {
        await tx`LOCK TABLE device_heartbeats IN SHARE MODE`;
        locked();
        await held;
      });
    });
    try {
      now = Date.now();
      const returning = beat();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const checking = check();
      await new Promise((resolve) => setTimeout(resolve, 300));
      release();
      await returning;
      const result = await checking;
      const silent = await notificationsOf(fleet.db.sql, 'device_silent');
      const back = await notificationsOf(fleet.db.sql, 'device_back');
      const [health] = await fleet.db.sql`SELECT silent_since FROM device_health`;
      assert.equal(health!.silent_since, null, 'the heartbeat ended any silence');
      assert.equal(
        back.length,
        silent.length,
        `silent ${silent.length}, back ${back.length}, check ${JSON.stringify(result)}`,
      );
    } finally {
      release();
      await blocking;
      await blocker.end({ timeout: 1 });
    }
  });

  test('a device back from a notified silence is not notified again within the renotify period unless the new silence outlasts it', async () => {
    await beatSecondsAgo(7200);
    await check();
    const back = await beatSecondsAgo(30); // back 30 s ago, quiet since: a Wi-Fi drop just past the threshold
    const flaky = { silentAfterSeconds: 10, historyDays: 7, silentRenotifySeconds: 3600 };
    assert.deepEqual(await silentNow(flaky), [], 'quiet 30 s > 10 s, but back only 30 s ago');
    assert.deepEqual(await silentNow({ ...flaky, silentRenotifySeconds: 0 }), ['dev-a'], 'no hysteresis');
    await fleet.db.sql`UPDATE device_health SET silent_since = NULL`;
    assert.deepEqual(
      await silentNow({ ...flaky, silentRenotifySeconds: 20 }),
      ['dev-a'],
      'quiet longer than it',
    );
    // Two episodes, two users each: the one after 2 h and the one since `back` (told once, however
    // many checks claimed it).
    assert.equal((await notificationsOf(fleet.db.sql, 'device_silent')).length, 4);
    // Back and steady for the whole period before going quiet: a new episode, notified at the threshold.
    await fleet.db.sql`UPDATE device_health SET silent_since = NULL,
      silence_ended_at = ${new Date(back - 3600_000)}`;
    assert.deepEqual(await silentNow(flaky), ['dev-a']);
  });

  test('a retired device is never silent', async () => {
    await beatSecondsAgo(7200);
    await fleet.db.sql`UPDATE devices SET retired_at = now(), retired_by = 'admin@fleet.test'`;
    assert.deepEqual(await silentNow(), []);
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), []);
  });
});

describe('silence counts only while the server could hear (review r11 F1)', () => {
  const quick = { silentAfterSeconds: 1, historyDays: 7 };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  test('at start-up a device heard just before has its deaf time (up to one threshold) taken off, then is silent', async () => {
    const twoSeconds = { ...quick, silentAfterSeconds: 2 };
    await beatSecondsAgo(3);
    const fleetCheck = createFleetCheck({ sql: fleet.db.sql, config: twoSeconds });
    assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: [], pruned: 0 });
    await sleep(1100);
    assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: ['dev-a'], pruned: 0 });
    assert.equal((await notificationsOf(fleet.db.sql, 'device_silent')).length, 2);
  });

  test('deaf time taken off a silence is at most one threshold: a device heard an hour ago is silent at start-up (review r13 F1)', async () => {
    await beatSecondsAgo(3600);
    const fleetCheck = createFleetCheck({ sql: fleet.db.sql, config: quick });
    assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: ['dev-a'], pruned: 0 });
  });

  test('with the allowance of the configuration (CTI_DEVICE_DEAF_ALLOWANCE_S, 1 h), a start-up after a long outage raises nothing (review r13 F1)', async () => {
    await beatSecondsAgo(600);
    const config = { ...loadDeviceHealthConfig({}), silentAfterSeconds: 1 };
    assert.equal(config.deafAllowanceSeconds, 3600);
    const fleetCheck = createFleetCheck({ sql: fleet.db.sql, config });
    assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: [], pruned: 0 });
    await sleep(1100);
    assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: ['dev-a'], pruned: 0 });
  });

  test('a crash loop (a new process every 0.5 s, threshold 1 s) still reports a silence, once 2 thresholds passed (review r13 F1)', async () => {
    const started = await beatSecondsAgo(0);
    let silentAfterMs: number | null = null;
    while (silentAfterMs === null && Date.now() - started < 6000) {
      const result = await createFleetCheck({ sql: fleet.db.sql, config: quick }).run();
      if (!result.skipped && result.silent.includes('dev-a')) silentAfterMs = Date.now() - started;
      else await sleep(500);
    }
    // Told, 2 thresholds after the heartbeat (1 s of deaf time taken off); before, never.
    assert.ok(silentAfterMs !== null && silentAfterMs >= 2000, `silent after ${silentAfterMs} ms`);
  });

  test('a check that loses its connection every other round still reports a silence, once 2 thresholds passed (review r13 F1)', async () => {
    const started = await beatSecondsAgo(0);
    let calls = 0;
    const lost = Object.assign(new Error('connection lost'), { code: 'CONNECTION_CLOSED' });
    const flaky = new Proxy(fleet.db.sql, {
      apply: (target, self, args) =>
        ++calls % 2 === 0 ? Promise.reject(lost) : Reflect.apply(target as never, self, args),
    });
    const fleetCheck = createFleetCheck({ sql: flaky, config: quick });
    let silentAfterMs: number | null = null;
    while (silentAfterMs === null && Date.now() - started < 6000) {
      const result = await fleetCheck.run().catch(() => null);
      if (result && !result.skipped && result.silent.includes('dev-a')) silentAfterMs = Date.now() - started;
      else await sleep(300);
    }
    // Told, 2 thresholds after the heartbeat (1 s of deaf time taken off); before, never.
    assert.ok(silentAfterMs !== null && silentAfterMs >= 2000, `silent after ${silentAfterMs} ms`);
  });

  test('deaf periods after the last heartbeat are taken off its silence, those before it are not', async () => {
    await beatSecondsAgo(100);
    const [{ db }] = (await fleet.db.sql`SELECT now() AS db`) as unknown as [{ db: Date }];
    const ago = (s: number) => new Date(db.getTime() - s * 1000);
    const oneMinute = { ...config, silentAfterSeconds: 60 };
    const silentWith = async (deaf: DeafPeriod[]) => {
      const result = await check(oneMinute, deaf);
      return result.skipped ? 'skipped' : result.silent;
    };
    // 100 s unheard: 60 of them deaf leaves 40 s of listening; 10 deaf leaves 90; two of 25 leave 50.
    assert.deepEqual(await silentWith([{ from: ago(90), to: ago(30) }]), []);
    assert.deepEqual(await silentWith([{ from: null, to: ago(50) }]), []);
    assert.deepEqual(
      await silentWith([
        { from: ago(90), to: ago(65) },
        { from: ago(60), to: ago(35) },
      ]),
      [],
    );
    assert.deepEqual(await silentWith([{ from: ago(500), to: ago(101) }]), ['dev-a'], 'before it');
    await fleet.db.sql`UPDATE device_health SET silent_since = NULL`;
    assert.deepEqual(await silentWith([{ from: ago(90), to: ago(80) }]), ['dev-a']);
  });

  test('after a database outage longer than the threshold: no device is silent until the threshold passed again', async () => {
    const twoSeconds = { ...quick, silentAfterSeconds: 2 };
    await beatSecondsAgo(0);
    const url = new URL(fleet.db.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    const sql = createDatabaseClient({ url: url.href, max: 2, connectTimeoutSeconds: 1 });
    try {
      const fleetCheck = createFleetCheck({ sql, config: twoSeconds });
      assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: [], pruned: 0 });
      await proxy.cut();
      await sleep(2200);
      await assert.rejects(fleetCheck.run(), (err: { code?: string }) => err.code === 'ECONNREFUSED');
      await proxy.restore();
      // Without the outage the device would be silent now (heard > 2 s ago).
      assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: [], pruned: 0 });
      assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), []);
      await sleep(2100);
      assert.deepEqual(await fleetCheck.run(), { skipped: false, silent: ['dev-a'], pruned: 0 });
    } finally {
      await sql.end({ timeout: 1 });
      await proxy.close();
    }
  });
});

describe('history', () => {
  test('heartbeats and refused requests older than historyDays are pruned, newer ones kept', async () => {
    const day = 86_400_000;
    for (const age of [9, 8, 1, 0]) {
      now = Date.now() - age * day;
      await backdateHeartbeat(fleet.db.sql, await beat(), age * 86_400);
      await fleet.db
        .sql`INSERT INTO device_request_rejections (created_at, device_code, http_status, error_code)
        VALUES (${new Date(now)}, 'dev-x', 401, 'unknown_device')`;
    }
    now = Date.now();
    const result = await check();
    assert.equal(!result.skipped && result.pruned, 4);
    const [left] = await fleet.db.sql`SELECT (SELECT count(*)::int FROM device_heartbeats) AS hb,
      (SELECT count(*)::int FROM device_request_rejections) AS rej, (SELECT count(*)::int FROM device_health) AS health`;
    assert.deepEqual(left, { hb: 2, rej: 2, health: 1 });
  });
});
