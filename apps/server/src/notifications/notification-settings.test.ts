import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { notifyDeviceEpisode } from '../devices/device-notifications.ts';
import { writeGradingFailure, writeGradingResult } from '../grading/result-writer.ts';
import { seedDevice, seedFarm, seedScan, seedUser } from '../test-seed.ts';
import { loadNotificationSettings, saveNotificationSettings } from './notification-settings.ts';
import { NOTIFICATION_TYPE_NAMES } from './notification-types.ts';

// Per-user notification settings (migration 0018) are obeyed where notifications are written: the
// real senders (the grading result writer, the device episode writer) leave out a user who turned
// the type off, and nobody else.

let db: TestDatabase;
const u = {} as Record<'admin' | 'tech' | 'quiet' | 'farmer' | 'explicit', string>;
let farm: string;
before(async () => {
  db = await createTestDatabase();
  farm = await seedFarm(db.sql, 'North');
  const on = { farms: [{ id: farm }] };
  u.admin = (await seedUser(db.sql, 'admin@x.test', ['admin'])).id;
  u.tech = (await seedUser(db.sql, 'tech@x.test', ['technician'], on)).id;
  u.quiet = (await seedUser(db.sql, 'quiet@x.test', ['farmer'], on)).id;
  u.farmer = (await seedUser(db.sql, 'farmer@x.test', ['farmer'], on)).id;
  u.explicit = (await seedUser(db.sql, 'explicit@x.test', ['farmer'], on)).id;
});
after(() => db.drop());

const told = async (type: string, scanId: string) =>
  (
    await db.sql<{ email: string }[]>`
      SELECT u.email FROM notifications n JOIN users u ON u.id = n.user_id
       WHERE n.type = ${type} AND n.payload->>'scan_id' = ${scanId} ORDER BY u.email`
  ).map((r) => r.email);

/** A running job failed for good (writeGradingFailure): who was told grading_failed of its scan. */
async function toldOfFailedJob(): Promise<string[]> {
  const { scanId, job } = await runningJob();
  assert.ok(
    await writeGradingFailure(db.sql, { job, code: 'decode_failed' as never, message: 'x', workerId: 'w1' }),
  );
  return told('grading_failed', scanId);
}

async function runningJob() {
  const device = await seedDevice(db.sql, `dev-${Math.random().toString(36).slice(2, 8)}`, farm);
  const scanId = await seedScan(db.sql, { farmId: farm, deviceId: device });
  const [job] = await db.sql<{ id: string }[]>`
    INSERT INTO grading_jobs (scan_id, status, attempts, locked_by, locked_at, lease_expires_at)
    VALUES (${scanId}, 'running', 1, 'w1', now(), now() + interval '1 hour') RETURNING id`;
  return { scanId, job: { id: job!.id, attempts: 1 } as never };
}

async function grade(grade: 'A' | 'R') {
  const { scanId, job } = await runningJob();
  const [scan] = await db.sql`SELECT capture_id FROM scans WHERE id = ${scanId}`;
  const stored = (key: string) => ({ bucket: 'b', key, sha256: 'c'.repeat(64), sizeBytes: 1 });
  await writeGradingResult(db.sql, {
    job,
    reason: 'ingest',
    workerId: 'w1',
    scan: { scanId, captureId: scan!.capture_id, farmId: farm },
    model: { name: 'ribeye-seg', version: '1', sha256: 'd'.repeat(64) },
    graded: { grade, reasons: [], confidence: 0.9, breakdown: {}, features: {} } as never,
    overlay: stored(`o/${scanId}`) as never,
    mask: stored(`m/${scanId}`) as never,
  });
  return scanId;
}

describe('notification settings, obeyed by every sender', () => {
  before(async () => {
    await saveNotificationSettings(db.sql, u.quiet, { scan_graded: false });
    // A row saying "on" is the same as no row.
    await saveNotificationSettings(db.sql, u.explicit, { scan_graded: true });
  });

  test('scan_graded turned off: that farmer gets none, everyone else on the farm does; scan_rejected still reaches them', async () => {
    const rejected = await grade('R');
    assert.deepEqual(await told('scan_graded', rejected), [
      'explicit@x.test',
      'farmer@x.test',
      'tech@x.test',
    ]);
    assert.deepEqual(await told('scan_rejected', rejected), [
      'admin@x.test',
      'explicit@x.test',
      'farmer@x.test',
      'quiet@x.test',
      'tech@x.test',
    ]);
    const usable = await grade('A');
    assert.deepEqual(await told('scan_graded', usable), ['explicit@x.test', 'farmer@x.test', 'tech@x.test']);
    assert.deepEqual(await told('scan_rejected', usable), []);
  });

  test('users without settings get exactly what they got before; every type is on by default', async () => {
    assert.deepEqual(
      await loadNotificationSettings(db.sql, u.farmer),
      Object.fromEntries(NOTIFICATION_TYPE_NAMES.map((t) => [t, true])),
    );
    const [{ count }] = (await db.sql`
      SELECT count(*)::int AS count FROM user_notification_settings WHERE user_id IN (${u.farmer}, ${u.tech}, ${u.admin})`) as unknown as [
      { count: number },
    ];
    assert.equal(count, 0, 'nothing stored for them');
    assert.deepEqual(await toldOfFailedJob(), ['admin@x.test', 'tech@x.test']);
  });

  test('each type is its own: an admin without scan_rejected still gets grading_failed; a technician without device_silent still gets device_backlog', async () => {
    await saveNotificationSettings(db.sql, u.admin, { scan_rejected: false });
    await saveNotificationSettings(db.sql, u.tech, { device_silent: false });
    try {
      const rejected = await grade('R');
      assert.deepEqual(await told('scan_rejected', rejected), [
        'explicit@x.test',
        'farmer@x.test',
        'quiet@x.test',
        'tech@x.test',
      ]);
      assert.deepEqual(await toldOfFailedJob(), ['admin@x.test', 'tech@x.test']);

      const device = await seedDevice(db.sql, 'dev-episodes', farm);
      const since = new Date('2026-12-01T00:00:00Z');
      for (const type of ['device_silent', 'device_backlog'] as const) {
        await notifyDeviceEpisode(db.sql, {
          type,
          device: { id: device, device_code: 'dev-episodes', label: null },
          since,
          details: {},
        });
      }
      const episodes = await db.sql<{ type: string; email: string }[]>`
        SELECT n.type, u.email FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE n.payload->>'device_id' = ${device} ORDER BY n.type, u.email`;
      assert.deepEqual(
        episodes.map((r) => `${r.type} ${r.email}`),
        ['device_backlog admin@x.test', 'device_backlog tech@x.test', 'device_silent admin@x.test'],
      );
    } finally {
      await saveNotificationSettings(db.sql, u.admin, { scan_rejected: true });
      await saveNotificationSettings(db.sql, u.tech, { device_silent: true });
    }
  });

  test('still at most one per user and event: turned back on, a retry of the same event adds only the missing one', async () => {
    const device = await seedDevice(db.sql, 'dev-retry', farm);
    const episode = {
      type: 'device_disk_low' as const,
      device: { id: device, device_code: 'dev-retry', label: null },
      since: new Date('2026-12-02T00:00:00Z'),
      details: {},
    };
    await saveNotificationSettings(db.sql, u.tech, { device_disk_low: false });
    assert.equal(await notifyDeviceEpisode(db.sql, episode), 1, 'the admin only');
    await saveNotificationSettings(db.sql, u.tech, { device_disk_low: true });
    assert.equal(await notifyDeviceEpisode(db.sql, episode), 1, 'the technician, now');
    assert.equal(await notifyDeviceEpisode(db.sql, episode), 0, 'nobody twice');
    const rows = await db.sql`SELECT user_id FROM notifications WHERE payload->>'device_id' = ${device}`;
    assert.equal(rows.length, 2);
  });
});
