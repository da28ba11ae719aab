import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { LOCK_FLEET_CHECK, LOCK_NAMESPACE } from '@cti/db';
import { runFleetCheck } from './fleet-check.ts';
import { heartbeatBody, notificationsOf, signedHeartbeat, useFleetTestApp } from './test-heartbeats.ts';

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

async function beat() {
  const init = signedHeartbeat(secret, heartbeatBody('dev-a', new Date(now)), {
    timestamp: Math.floor(now / 1000),
  });
  const res = await fleet.server.app.request('/devices/heartbeat', init);
  assert.equal(res.status, 200, await res.clone().text());
}
const check = (at = now) => runFleetCheck(fleet.db.sql, { config, now: new Date(at) });
const silentKey = (heardAt: number) => `device_silent:${deviceId}:${new Date(heardAt).toISOString()}`;

describe('silence', () => {
  test('a device not heard for the configured time: admins and technicians told once per episode', async () => {
    const heardAt = now;
    await beat();
    assert.deepEqual(await check(heardAt + 599_000), { skipped: false, silent: [], pruned: 0 });
    assert.deepEqual(await check(heardAt + 601_000), { skipped: false, silent: ['dev-a'], pruned: 0 });
    for (const minutes of [11, 12, 30]) await check(heardAt + minutes * 60_000);
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), [
      `admin@fleet.test ${silentKey(heardAt)}`,
      `technician@fleet.test ${silentKey(heardAt)}`,
    ]);
    const [health] = await fleet.db.sql`SELECT silent_since FROM device_health`;
    assert.deepEqual(health!.silent_since, new Date(heardAt));
    // Heard again: the episode ends. Silent again later: a new episode, a new notification.
    now = heardAt + 40 * 60_000;
    await beat();
    const [back] = await fleet.db.sql`SELECT silent_since FROM device_health`;
    assert.equal(back!.silent_since, null);
    await check(now + 601_000);
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_silent'), [
      `admin@fleet.test ${silentKey(heardAt)}`,
      `technician@fleet.test ${silentKey(heardAt)}`,
      `admin@fleet.test ${silentKey(now)}`,
      `technician@fleet.test ${silentKey(now)}`,
    ]);
    const [payload] = await fleet.db
      .sql`SELECT payload FROM notifications WHERE type = 'device_silent' ORDER BY id LIMIT 1`;
    assert.equal(payload!.payload.last_heard_at, new Date(heardAt).toISOString());
    assert.equal(payload!.payload.silent_after_s, 600);
  });

  test('a device that never sent a heartbeat is not "silent"', async () => {
    await fleet.db
      .sql`INSERT INTO devices (device_code, last_seen_at) VALUES ('dev-old', now() - interval '30 days')`;
    assert.deepEqual(await check(now + 3_600_000), { skipped: false, silent: [], pruned: 0 });
  });

  test('replicas checking at the same moment: one works, the others skip; still one notification each', async () => {
    await beat();
    const results = await Promise.all([1, 2, 3, 4].map(() => check(now + 700_000)));
    assert.equal(results.filter((r) => !r.skipped).length >= 1, true);
    assert.deepEqual(
      results.flatMap((r) => (r.skipped ? [] : r.silent)),
      ['dev-a'],
    );
    assert.equal((await notificationsOf(fleet.db.sql, 'device_silent')).length, 2);
  });

  test('while another session holds the lock the check skips; without the lock the row claim still holds', async () => {
    await beat();
    const holder = await fleet.db.sql.reserve();
    try {
      await holder`BEGIN`;
      await holder`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${LOCK_FLEET_CHECK})`;
      assert.deepEqual(await check(now + 700_000), { skipped: true });
      await holder`COMMIT`;
    } finally {
      holder.release();
    }
    assert.equal((await check(now + 700_000)).skipped, false);
    assert.equal((await notificationsOf(fleet.db.sql, 'device_silent')).length, 2);
  });
});

describe('history', () => {
  test('heartbeats and refused requests older than historyDays are pruned, newer ones kept', async () => {
    const day = 86_400_000;
    for (const age of [9, 8, 1, 0]) {
      now = Date.now() - age * day;
      await beat();
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
