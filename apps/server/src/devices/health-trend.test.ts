import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Sql } from 'postgres';
import { createDatabaseClient } from '../db/database-client.ts';
import { seedDevice, seedFarm } from '../test-seed.ts';
import { deviceHealthTrend } from './health-trend.ts';

// The trend's hours are UTC hours (the API says so) whatever the database's TimeZone: the server never
// sets one on its connections, so a cluster made on a host in Adelaide (UTC+10:30) or India (UTC+5:30)
// truncates in that zone unless the query names UTC (review r11 F6).

let db: TestDatabase;
let adelaide: Sql;
let device: string;
const HOUR = 3600_000;
/** The current UTC hour, then two beats 10 and 50 minutes past the hour two hours before it. */
const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
const twoHoursAgo = hourNow - 2 * HOUR;

before(async () => {
  db = await createTestDatabase();
  device = await seedDevice(db.sql, 'dev-adelaide', await seedFarm(db.sql, 'Half-hour Farm'));
  const [key] = await db.sql<{ id: string }[]>`
    INSERT INTO device_keys (device_id, public_key, fingerprint)
    VALUES (${device}, ${Buffer.alloc(44, 1)}, 'aaaaaaaaaaaaaaaa') RETURNING id`;
  for (const [i, minutes] of [10, 50].entries()) {
    const at = new Date(twoHoursAgo + minutes * 60_000);
    await db.sql`
      INSERT INTO device_heartbeats (device_id, key_id, received_at, sent_at, signature_sha256, pending_captures,
                                     pending_bytes, quarantined, disk_free_bytes, clock_synced, probe_connected, body)
      VALUES (${device}, ${key!.id}, ${at}, ${at}, ${Buffer.from([i])}, ${i + 1}, 0, 0, 1e9, true, true, '{}')`;
  }
  // As initdb on such a host makes it: the database's default zone, which new sessions take.
  await db.sql.unsafe(`ALTER DATABASE ${db.name} SET timezone = 'Australia/Adelaide'`);
  adelaide = createDatabaseClient({ url: db.url, max: 1, connectTimeoutSeconds: 5 });
});
after(async () => {
  await adelaide?.end({ timeout: 5 });
  await db?.drop();
});

test('the trend buckets by UTC hours when the database TimeZone is half an hour off UTC', async () => {
  const [{ TimeZone } = { TimeZone: '' }] = await adelaide<{ TimeZone: string }[]>`SHOW timezone`;
  assert.equal(TimeZone, 'Australia/Adelaide', 'the session runs in the database default zone');
  const hours = await deviceHealthTrend(adelaide, device, 1);
  for (const h of hours) assert.match(h.t, /T\d\d:00:00Z$/, `${h.t} starts on a UTC hour`);
  assert.deepEqual(
    hours.slice(0, 3).map((h) => [h.t, h.heartbeats, h.pending_captures]),
    [
      [new Date(twoHoursAgo).toISOString().replace('.000Z', 'Z'), 2, 2],
      [new Date(twoHoursAgo + HOUR).toISOString().replace('.000Z', 'Z'), 0, null],
      [new Date(hourNow).toISOString().replace('.000Z', 'Z'), 0, null],
    ],
    'from the hour of the first beat (both beats in it) to the current UTC hour',
  );
});
