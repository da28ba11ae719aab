import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addDeviceKey } from '../../devices/device-keys.ts';
import { heartbeatBody, signedHeartbeat } from '../../devices/test-heartbeats.ts';
import { type ApiClient, apiClient } from '../../test-api-client.ts';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// Review r14 F2, F4, F6, F10 on a real database with the real migrations, heartbeats signed and posted
// to POST /devices/heartbeat: what a viewer is shown of a moved Pi is its time on farms they may read.
// Maple Farm (A): farmer@ (farmer), technician@ (technician); Birch Farm (B): neither.

const secrets: Record<string, string> = {};
const { ctx, w } = useDashboardApp(async (sql, world) => {
  await sql`DELETE FROM device_keys WHERE device_id IN (${world.deviceA}, ${world.deviceB})`;
  secrets['dev-a'] = (await addDeviceKey(sql, 'dev-a', { farm: world.farmA })).secret;
  secrets['dev-b'] = (await addDeviceKey(sql, 'dev-b', { farm: world.farmB })).secret;
});

async function beat(code: string, patch: object = {}) {
  const body = heartbeatBody(code, new Date(), { uptime_s: 60, ...patch } as never);
  const res = await ctx.server.app.request('/devices/heartbeat', signedHeartbeat(secrets[code]!, body));
  assert.ok(res.status < 300, `heartbeat ${res.status}`);
  // received_at is the heartbeat's transaction time; the next move's clock time is after it.
  await new Promise((r) => setTimeout(r, 5));
}

const moveTo = async (device: string, farm: string | null) => {
  await ctx.db.sql`UPDATE devices SET farm_id = ${farm} WHERE id = ${device}`;
  await new Promise((r) => setTimeout(r, 5));
};

async function signedIn(email: string): Promise<ApiClient> {
  const api = apiClient(ctx.server.app);
  assert.equal((await api.signIn(email, TEST_PASSWORD)).status, 200, email);
  return api;
}

/** What `email` is told of `device` through the API (validated against the OpenAPI document). */
async function seen(email: string, device: string) {
  const api = await signedIn(email);
  const row = await api.request('GET', `/api/v1/devices/${device}`);
  const health = await api.request('GET', `/api/v1/devices/${device}/health?days=1`);
  assert.equal(row.status, 200, email);
  assert.equal(health.status, 200, email);
  return {
    row: row.body,
    latest: health.body.latest,
    beats: (health.body.hours as { heartbeats: number }[]).reduce((n, h) => n + h.heartbeats, 0),
  };
}

describe('a moved Pi: each viewer sees its time on farms they read (review r14)', () => {
  test('F2: the first heartbeat on farm A, same agent run, shows A’s farmer no counters of farm B; the admin all; a restart shows them again', async () => {
    const sql = ctx.db.sql;
    const hourAgo = new Date(Date.now() - 3600e3).toISOString();
    await beat('dev-b', {
      uptime_s: 86_400,
      outbox: { pending_captures: 9, pending_bytes: 9e6, oldest_pending_age_s: 7200, quarantined: 1 },
      last_capture_at: hourAgo,
      last_upload_at: hourAgo,
      captures_by_result: { captured: 57 },
    });
    // Heard on B three hours ago.
    await sql`UPDATE device_health SET received_at = received_at - interval '3 hours',
                     backlog_since = received_at - interval '3 hours' WHERE device_id = ${w.deviceB}`;
    await sql`UPDATE device_heartbeats SET received_at = received_at - interval '3 hours' WHERE device_id = ${w.deviceB}`;
    await moveTo(w.deviceB, w.farmA);
    // Moved ten minutes ago (after the farm-B heartbeat): room for an agent restart after it.
    await sql`UPDATE device_farm_moves SET moved_at = moved_at - interval '10 minutes' WHERE device_id = ${w.deviceB}`;
    await beat('dev-b', {
      uptime_s: 86_400 + 3 * 3600,
      outbox: {
        pending_captures: 9,
        pending_bytes: 9e6,
        oldest_pending_age_s: 7200 + 3 * 3600,
        quarantined: 1,
      },
      last_capture_at: hourAgo,
      last_upload_at: hourAgo,
      captures_by_result: { captured: 57 },
    });

    const farmer = await seen(w.users.farmer.email, w.deviceB);
    assert.deepEqual(farmer.row.reported, {
      last_upload_at: null,
      last_capture_at: null,
      captured: null,
      agent_started_at: null,
      withheld: true,
    });
    assert.equal(farmer.beats, 1, 'its heartbeat on A is shown');
    const l = farmer.latest;
    assert.deepEqual(
      [l.counters_withheld, l.uptime_s, l.captures_by_result, l.pending_captures, l.pending_bytes],
      [true, null, null, null, null],
    );
    assert.deepEqual([l.oldest_pending_age_s, l.quarantined, l.backlog_since], [null, null, null]);
    assert.equal(l.disk_free_bytes, 20_000 * 1024 * 1024, 'what it says of now is shown');

    const admin = await seen(w.users.admin.email, w.deviceB);
    assert.equal(admin.row.reported.captured, 57);
    assert.equal(admin.row.reported.withheld, false);
    assert.deepEqual(
      [admin.latest.counters_withheld, admin.latest.pending_captures, admin.latest.captures_by_result],
      [false, 9, { captured: 57 }],
    );
    assert.notEqual(admin.latest.backlog_since, null);

    const page = strip(
      (await (await pageClient(ctx.server.app, w.users.farmer.email)).get(`/fleet/${w.deviceB}`)).html,
    );
    // Farm B's counts as the page would write them (a bare '57' also matched a clock time: 00:57).
    assert.doesNotMatch(page, /\b57 captured|\b9 waiting/, 'the page names no farm-B count');
    assert.match(
      page,
      /Captures since the agent started not shown: its agent has run since before it came here/,
    );
    assert.match(page, /the Pi's own counts include its time on a farm you cannot see: not shown/);
    const fleet = strip((await (await pageClient(ctx.server.app, w.users.farmer.email)).get('/fleet')).html);
    assert.ok(!/backlog: 9/.test(fleet), fleet);

    // The agent restarted on A with an empty outbox: its counters are A's alone.
    await beat('dev-b', { uptime_s: 5, captures_by_result: { captured: 2 } });
    const after = await seen(w.users.farmer.email, w.deviceB);
    assert.equal(after.row.reported.captured, 2);
    assert.deepEqual([after.latest.counters_withheld, after.latest.pending_captures], [false, 0]);
  });

  test('F4: B → unassigned (heard) → A: A’s farmer sees nothing of the unassigned stay; A’s technician, who sees unassigned Pis, does', async () => {
    const sql = ctx.db.sql;
    await moveTo(w.deviceB, w.farmB);
    await sql`DELETE FROM device_heartbeats WHERE device_id = ${w.deviceB}`;
    await sql`DELETE FROM device_health WHERE device_id = ${w.deviceB}`;
    await beat('dev-b');
    await moveTo(w.deviceB, null);
    await beat('dev-b', { probe: { model: 'heard-unassigned' } });
    await moveTo(w.deviceB, w.farmA);
    const moves = await sql<{ to_farm_id: string | null; moved_at: Date }[]>`
      SELECT to_farm_id, moved_at FROM device_farm_moves WHERE device_id = ${w.deviceB} ORDER BY moved_at DESC LIMIT 2`;
    const [intoA, intoNull] = moves;

    const farmer = await seen(w.users.farmer.email, w.deviceB);
    assert.deepEqual([farmer.latest, farmer.beats, farmer.row.last_seen_at], [null, 0, null]);
    assert.equal(Date.parse(farmer.row.history_from), intoA!.moved_at.getTime(), 'cut at the move into A');

    const tech = await seen(w.users.technician.email, w.deviceB);
    assert.equal(tech.beats, 1, 'the unassigned stay’s heartbeat, not B’s');
    assert.equal(tech.latest.probe_model, 'heard-unassigned');
    assert.equal(tech.latest.counters_withheld, true, 'its agent ran on B: its counters are withheld');
    assert.equal(Date.parse(tech.row.history_from), intoNull!.moved_at.getTime(), 'cut at the move out of B');
  });

  test('review r15 F4: a new Pi, heard while unassigned, then claimed for A: A’s people see it whole, nothing withheld', async () => {
    const sql = ctx.db.sql;
    const added = await addDeviceKey(sql, 'dev-new');
    secrets['dev-new'] = added.secret;
    const [device] = await sql<{ id: string }[]>`SELECT id FROM devices WHERE device_code = 'dev-new'`;
    const run = { captures_by_result: { captured: 4 } };
    await beat('dev-new', {
      ...run,
      uptime_s: 600,
      outbox: { pending_captures: 3, oldest_pending_age_s: 300 },
    });
    const tech = await signedIn(w.users.technician.email);
    const claim = await tech.request('PATCH', `/api/v1/devices/${device!.id}`, {
      body: { farm_id: w.farmA },
    });
    assert.equal(claim.status, 200);
    const moves =
      await sql`SELECT from_farm_id, to_farm_id FROM device_farm_moves WHERE device_id = ${device!.id}`;
    assert.deepEqual([...moves], [{ from_farm_id: null, to_farm_id: w.farmA }], 'its claim is recorded');
    // The same agent run, its backlog from before the claim still pending.
    await beat('dev-new', {
      ...run,
      uptime_s: 660,
      outbox: { pending_captures: 3, oldest_pending_age_s: 360 },
    });

    for (const who of [w.users.farmer.email, w.users.technician.email]) {
      const { row, latest, beats } = await seen(who, device!.id);
      assert.equal(row.history_from, null, `${who}: nothing hidden`);
      assert.deepEqual([row.reported.withheld, row.reported.captured], [false, 4], who);
      assert.deepEqual(
        [latest.counters_withheld, latest.pending_captures, latest.uptime_s],
        [false, 3, 660],
        who,
      );
      assert.equal(beats, 2, `${who}: its heartbeat while being set up is shown too`);
      const page = strip((await (await pageClient(ctx.server.app, who)).get(`/fleet/${device!.id}`)).html);
      assert.ok(!page.includes('from a farm you cannot see'), `${who}: ${page}`);
    }
    // Then a trip to B and back: A keeps the setup time, B's time alone is hidden.
    await moveTo(device!.id, w.farmB);
    await moveTo(device!.id, w.farmA);
    const back = await seen(w.users.farmer.email, device!.id);
    assert.equal(back.beats, 2, 'the setup heartbeat stays A’s after a trip to B');
  });

  test('F6: A → B → A: A’s people keep A’s own history; B’s heartbeat alone is hidden', async () => {
    await beat('dev-a');
    await beat('dev-a');
    assert.equal((await seen(w.users.farmer.email, w.deviceA)).beats, 2);
    // A mistaken move to B and back, nothing heard on B.
    await moveTo(w.deviceA, w.farmB);
    await moveTo(w.deviceA, w.farmA);
    const back = await seen(w.users.farmer.email, w.deviceA);
    assert.equal(back.beats, 2, 'nothing heard on B: nothing hidden');
    assert.notEqual(back.row.last_seen_at, null);
    assert.notEqual(back.latest, null, 'its snapshot from A before the round trip');

    // Then a real stay on B with a heartbeat, and back to A.
    await moveTo(w.deviceA, w.farmB);
    await beat('dev-a', { outbox: { pending_captures: 77 } });
    await moveTo(w.deviceA, w.farmA);
    const farmer = await seen(w.users.farmer.email, w.deviceA);
    assert.equal(farmer.beats, 2, 'A’s two heartbeats, not B’s');
    // Only the latest snapshot and last seen are stored: both are B's, so neither is shown.
    assert.deepEqual([farmer.latest, farmer.row.last_seen_at], [null, null]);
    const admin = await seen(w.users.admin.email, w.deviceA);
    assert.deepEqual([admin.beats, admin.latest.pending_captures, admin.row.history_from], [3, 77, null]);
  });

  test('F10: a farm without a location: the device page says its times are UTC because of that', async () => {
    const sql = ctx.db.sql;
    await sql`UPDATE farms SET centroid = NULL, geofence = NULL WHERE id = ${w.farmA}`;
    for (const who of [w.users.farmer.email, w.users.admin.email]) {
      const html = (await (await pageClient(ctx.server.app, who)).get(`/fleet/${w.deviceA}`)).html;
      assert.equal(
        textById(html, 'device-zone'),
        'Times in UTC: Maple Farm has no location yet (set its geofence).',
        who,
      );
    }
  });
});
