import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createDeviceCommand } from '../../devices/device-command.ts';
import { type ApiClient, apiClient } from '../../test-api-client.ts';
import { seedDevice, seedScan, seedUser, TEST_PASSWORD } from '../../test-seed.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// Review r11 F12 on a real database with the real migrations: dev-b, with four captures and heartbeats
// on Birch Farm (B), is moved to Maple Farm (A) by a technician of both farms through the
// API. Maple's farmer and technician must not learn what was captured on Birch nor see its hours; the
// admin and the technician of both still see everything. The move is recorded by migration 0023's
// trigger whoever makes it (the API, `cti-server device add --farm`).

const both = { email: 'both@example.com', id: '' };
let movedAt = 0;

const { ctx, w } = useDashboardApp(async (sql, world) => {
  both.id = (
    await seedUser(sql, both.email, ['technician'], { farms: [{ id: world.farmA }, { id: world.farmB }] })
  ).id;
  // Three more captures on Birch (four with the world's scanB), as ingest counts them.
  for (let i = 0; i < 3; i++)
    await seedScan(sql, { farmId: world.farmB, deviceId: world.deviceB, gps: { lon: -80, lat: 42 } });
  await sql`UPDATE devices SET captures_count = 4, last_upload_at = now() - interval '10 minutes',
                               last_seen_at = now() - interval '5 minutes' WHERE id = ${world.deviceB}`;
  const [key] = await sql<{ id: string }[]>`
    INSERT INTO device_keys (device_id, public_key, fingerprint)
    VALUES (${world.deviceB}, ${Buffer.alloc(44, 2)}, 'bbbbbbbbbbbbbbbb') RETURNING id`;
  for (const [i, hoursAgo] of [30, 3, 2].entries())
    await sql`
      INSERT INTO device_heartbeats (device_id, key_id, received_at, sent_at, signature_sha256, pending_captures,
                                     pending_bytes, quarantined, disk_free_bytes, clock_synced, probe_connected, body)
      VALUES (${world.deviceB}, ${key!.id}, now() - make_interval(hours => ${hoursAgo}), now(), ${Buffer.from([i])},
              7, 0, 0, 5e9, true, true, '{}')`;
  await sql`
    INSERT INTO device_health (device_id, heartbeat_id, received_at, sent_at, clock_skew_ms, agent_version, uptime_s,
                               pending_captures, pending_bytes, quarantined, disk_free_bytes, clock_synced,
                               probe_connected, models, body)
    VALUES (${world.deviceB}, 3, now() - interval '2 hours', now() - interval '2 hours', 0, '0.4.1', 600, 7, 0, 0,
            5e9, true, true, '[]', '{}')`;
});

async function signedIn(email: string): Promise<ApiClient> {
  const api = apiClient(ctx.server.app);
  assert.equal((await api.signIn(email, TEST_PASSWORD)).status, 200, email);
  return api;
}

/** What `email` is told of dev-b: the device row and its health. */
async function seen(email: string) {
  const api = await signedIn(email);
  const device = await api.request('GET', `/api/v1/devices/${w.deviceB}`);
  const health = await api.request('GET', `/api/v1/devices/${w.deviceB}/health?days=1`);
  assert.equal(device.status, 200, email);
  assert.equal(health.status, 200, email);
  const hours = health.body.hours as { heartbeats: number }[];
  return {
    captures: device.body.captures_count as number,
    lastUpload: device.body.last_upload_at as string | null,
    lastSeen: device.body.last_seen_at as string | null,
    from: device.body.history_from as string | null,
    latest: health.body.latest as object | null,
    beats: hours.reduce((n, h) => n + h.heartbeats, 0),
  };
}

describe('a Pi moved between farms (r11 F12)', () => {
  test('moved to farm A: A’s farmer and technician see none of farm B’s captures, last upload, last seen or hours; the admin and a technician of both see everything', async () => {
    const mover = await signedIn(both.email);
    const moved = await mover.request('PATCH', `/api/v1/devices/${w.deviceB}`, {
      body: { farm_id: w.farmA },
    });
    assert.equal(moved.status, 200);
    const [move] = await ctx.db.sql<{ from_farm_id: string; to_farm_id: string; moved_at: Date }[]>`
      SELECT from_farm_id, to_farm_id, moved_at FROM device_farm_moves WHERE device_id = ${w.deviceB}`;
    assert.deepEqual([move?.from_farm_id, move?.to_farm_id], [w.farmB, w.farmA], 'the move is recorded');
    movedAt = move!.moved_at.getTime();

    for (const who of [w.users.farmer.email, w.users.technician.email]) {
      const s = await seen(who);
      assert.equal(s.captures, 0, `${who}: no captures of farm B`);
      assert.equal(s.lastUpload, null, `${who}: no last upload from farm B`);
      assert.equal(s.lastSeen, null, `${who}: not when it was last seen on farm B`);
      assert.equal(s.latest, null, `${who}: not its farm-B snapshot`);
      assert.equal(s.beats, 0, `${who}: none of farm B's hours`);
      assert.equal(new Date(s.from!).getTime(), movedAt, `${who}: told from when`);
    }
    for (const who of [w.users.admin.email, both.email]) {
      const s = await seen(who);
      assert.deepEqual(
        [s.captures, s.lastUpload !== null, s.lastSeen !== null, s.latest !== null, s.beats, s.from],
        [4, true, true, true, 2, null],
        `${who} sees everything (the two beats of the last day)`,
      );
    }

    // The pages say the same to the farmer.
    const farmer = await pageClient(ctx.server.app, w.users.farmer.email);
    const page = (await farmer.get(`/fleet/${w.deviceB}`)).html;
    assert.match(
      textById(page, 'device-history-from') ?? '',
      /It came here on .* from a farm you cannot see/,
    );
    assert.match(textById(page, 'health-none') ?? '', /No heartbeat since it came here/);
    assert.ok(!page.includes('id="device-trend"'), 'no chart of farm B’s hours');
    assert.match(strip(page), /Captures 0 arrived here/);
    const fleet = strip((await farmer.get('/fleet')).html);
    assert.match(fleet, /dev-b Unknown: no heartbeat since it came here/);
  });

  test('after the move: what the Pi does on farm A is shown to A’s people from the move on', async () => {
    const sql = ctx.db.sql;
    await seedScan(sql, { farmId: w.farmA, deviceId: w.deviceB });
    await sql`
      INSERT INTO device_heartbeats (device_id, key_id, received_at, sent_at, signature_sha256, pending_captures,
                                     pending_bytes, quarantined, disk_free_bytes, clock_synced, probe_connected, body)
      SELECT ${w.deviceB}, id, now(), now(), '\\x09', 1, 0, 0, 5e9, true, true, '{}' FROM device_keys WHERE device_id = ${w.deviceB}`;
    await sql`UPDATE device_health SET received_at = now(), pending_captures = 1 WHERE device_id = ${w.deviceB}`;
    await sql`UPDATE devices SET last_seen_at = now() WHERE id = ${w.deviceB}`;
    const s = await seen(w.users.farmer.email);
    assert.deepEqual(
      [s.captures, s.lastUpload !== null, s.lastSeen !== null, s.latest !== null, s.beats],
      [1, true, true, true, 1],
    );
    assert.equal((await seen(w.users.admin.email)).captures, 4, 'the device’s own count for the admin');
  });

  test('`cti-server device add --farm` moving a device is recorded too', async () => {
    const sql = ctx.db.sql;
    await seedDevice(sql, 'dev-c', w.farmB);
    let err = '';
    const command = createDeviceCommand({
      io: { out: () => {}, err: (s) => (err += s) },
      env: { DATABASE_URL: ctx.db.url },
    });
    assert.equal(await command.run(['add', 'dev-c', '--farm', w.farmA]), 0, err);
    const rows = await sql`
      SELECT m.from_farm_id, m.to_farm_id FROM device_farm_moves m JOIN devices d ON d.id = m.device_id
       WHERE d.device_code = 'dev-c'`;
    assert.deepEqual(
      rows.map((r) => [r.from_farm_id, r.to_farm_id]),
      [[w.farmB, w.farmA]],
    );
  });
});
