import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { notifyDeviceEpisode } from '../devices/device-notifications.ts';
import { writeGradingFailure, writeGradingResult } from '../grading/result-writer.ts';
import { seedDevice, seedFarm, seedScan, seedUser } from '../test-seed.ts';

// Farm-scoped notifications (scan_rejected, grading_failed, device episodes) are written only for the
// users who may read them: admins and the technicians of that farm — not for every technician, whose
// rows for other farms nobody could ever read (the read-time filter hid them, they piled up).

let db: TestDatabase;
const u = {} as Record<'admin' | 'techNorth' | 'techSouth' | 'farmerNorth', string>;
const farm = {} as Record<'north' | 'south', string>;
before(async () => {
  db = await createTestDatabase();
  farm.north = await seedFarm(db.sql, 'North');
  farm.south = await seedFarm(db.sql, 'South', { lon: -80, lat: 42 });
  u.admin = (await seedUser(db.sql, 'admin@x.test', ['admin'])).id;
  u.techNorth = (
    await seedUser(db.sql, 'tech-north@x.test', ['technician'], { farms: [{ id: farm.north }] })
  ).id;
  u.techSouth = (
    await seedUser(db.sql, 'tech-south@x.test', ['technician'], { farms: [{ id: farm.south }] })
  ).id;
  u.farmerNorth = (
    await seedUser(db.sql, 'farmer-north@x.test', ['farmer'], { farms: [{ id: farm.north }] })
  ).id;
});
after(() => db.drop());

const told = async (type: string, key: string, value: string) =>
  (
    await db.sql<{ email: string }[]>`
      SELECT u.email FROM notifications n JOIN users u ON u.id = n.user_id
       WHERE n.type = ${type} AND n.payload->>${key} = ${value} ORDER BY u.email`
  ).map((r) => r.email);

async function runningJob(farmId: string | null) {
  const device = await seedDevice(db.sql, `dev-${Math.random().toString(36).slice(2, 8)}`, farmId);
  const scanId = await seedScan(db.sql, { farmId, deviceId: device });
  const [job] = await db.sql<{ id: string }[]>`
    INSERT INTO grading_jobs (scan_id, status, attempts, locked_by, locked_at, lease_expires_at)
    VALUES (${scanId}, 'running', 1, 'w1', now(), now() + interval '1 hour') RETURNING id`;
  return { scanId, job: { id: job!.id, attempts: 1 } as never };
}

describe('farm-scoped notification recipients', () => {
  test("grading_failed: admins and the scan farm's technicians; a scan without a farm, admins only", async () => {
    const north = await runningJob(farm.north);
    assert.ok(
      await writeGradingFailure(db.sql, {
        job: north.job,
        code: 'decode_failed' as never,
        message: 'x',
        workerId: 'w1',
      }),
    );
    assert.deepEqual(await told('grading_failed', 'scan_id', north.scanId), [
      'admin@x.test',
      'tech-north@x.test',
    ]);
    const none = await runningJob(null);
    assert.ok(
      await writeGradingFailure(db.sql, {
        job: none.job,
        code: 'decode_failed' as never,
        message: 'x',
        workerId: 'w1',
      }),
    );
    assert.deepEqual(await told('grading_failed', 'scan_id', none.scanId), ['admin@x.test']);
  });

  test("scan_rejected: admins and the farm's users, once each", async () => {
    const north = await runningJob(farm.north);
    const [captured] = await db.sql`SELECT capture_id FROM scans WHERE id = ${north.scanId}`;
    const stored = (key: string) => ({ bucket: 'b', key, sha256: 'c'.repeat(64), sizeBytes: 1 });
    await writeGradingResult(db.sql, {
      job: north.job,
      reason: 'ingest',
      workerId: 'w1',
      scan: { scanId: north.scanId, captureId: captured!.capture_id, farmId: farm.north },
      model: { name: 'ribeye-seg', version: '1', sha256: 'd'.repeat(64) },
      graded: { grade: 'R', reasons: ['too_dark'], confidence: 0.3, breakdown: {}, features: {} } as never,
      overlay: stored(`o/${north.scanId}`) as never,
      mask: stored(`m/${north.scanId}`) as never,
    });
    assert.deepEqual(await told('scan_rejected', 'scan_id', north.scanId), [
      'admin@x.test',
      'farmer-north@x.test',
      'tech-north@x.test',
    ]);
  });

  test("device episodes: admins and the device farm's technicians; an unassigned device, every technician", async () => {
    const since = new Date('2026-01-01T00:00:00Z');
    for (const farmId of [farm.south, null]) {
      const code = farmId ? 'dev-south' : 'dev-loose';
      const id = await seedDevice(db.sql, code, farmId);
      await notifyDeviceEpisode(db.sql, {
        type: 'device_silent',
        device: { id, device_code: code, label: null },
        since,
        details: {},
      });
    }
    assert.deepEqual(await told('device_silent', 'device_code', 'dev-south'), [
      'admin@x.test',
      'tech-south@x.test',
    ]);
    assert.deepEqual(await told('device_silent', 'device_code', 'dev-loose'), [
      'admin@x.test',
      'tech-north@x.test',
      'tech-south@x.test',
    ]);
  });
});
