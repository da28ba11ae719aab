import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../../test-api-client.ts';
import { useTestApp } from '../../test-helpers.ts';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { type DashboardWorld, seedDashboard } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// The device page's health: the latest heartbeat in words and the last days by the hour, from the
// heartbeat history (device_heartbeats) on a real database; silent hours are gaps, not zeros. The same
// figures through GET /api/v1/devices/{id}/health (answers checked against the OpenAPI document).

let w: DashboardWorld;
const MODELS = [
  { name: 'ribeye-hint', version: '3.0.0' },
  { name: 'ribeye-view', version: '3.1.0' },
];
/** What the heartbeat body carries (device_health.body): attempts since the agent started, by result. */
const CAPTURES = { captured: 41, not_a_ribeye_view: 6, off_animal: 1, error: 0, busy: 2 };
/** The hour the heartbeats were seeded in (the chart runs to the current hour: a test crossing an hour has one more). */
let seededHour: Date;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      w = await seedDashboard(db.sql);
      const sql = db.sql;
      const [seeded] = await sql<{ hour: Date }[]>`SELECT date_trunc('hour', now()) AS hour`;
      seededHour = seeded!.hour;
      const [key] = await sql<{ id: string }[]>`
        INSERT INTO device_keys (device_id, public_key, fingerprint)
        VALUES (${w.deviceA}, ${Buffer.alloc(44, 1)}, 'aaaaaaaaaaaaaaaa') RETURNING id`;
      // Hours H-5 (two heartbeats), H-2 and H (one each); H-4, H-3 and H-1 silent; one 9 days old.
      const beats: [string, number, number | null, number][] = [
        ["date_trunc('hour', now()) - interval '5 hours' + interval '5 minutes'", 3, 8e9, 40],
        ["date_trunc('hour', now()) - interval '5 hours' + interval '15 minutes'", 5, 7.9e9, -900],
        ["date_trunc('hour', now()) - interval '2 hours' + interval '5 minutes'", 0, null, 12],
        ['now()', 1, 7.5e9, 12],
        ["now() - interval '9 days'", 99, 1e6, 0],
      ];
      for (const [i, [at, pending, disk, offset]] of beats.entries()) {
        await sql.unsafe(
          `INSERT INTO device_heartbeats (device_id, key_id, received_at, sent_at, signature_sha256,
             pending_captures, pending_bytes, oldest_pending_age_s, quarantined, disk_free_bytes,
             clock_synced, clock_offset_ms, probe_connected, frame_rate_fps, body)
           VALUES ($1, $2, ${at}, ${at}, $3, $4, 0, null, 0, $5, true, $6, true, 15, '{}')`,
          [w.deviceA, key!.id, Buffer.from([i]), pending, disk, offset],
        );
      }
      await sql`
        INSERT INTO device_health (device_id, heartbeat_id, received_at, sent_at, clock_skew_ms, agent_version,
                                   uptime_s, pending_captures, pending_bytes, oldest_pending_age_s, quarantined,
                                   disk_free_bytes, disk_floor_bytes, clock_synced, clock_source, clock_offset_ms,
                                   probe_connected, probe_model, frame_rate_fps, health_ok, last_error, last_error_at,
                                   models, body)
        VALUES (${w.deviceA}, 4, now(), now(), 0, '0.4.1', 7200, 1, 2097152, 300, 0, 7500000000, 209715200,
                true, 'timesyncd', 12, true, 'Convex-3.5MHz', 15, true, 'image.png: connect ETIMEDOUT',
                now() - interval '1 hour', ${sql.json(MODELS)}, ${sql.json({ captures_by_result: CAPTURES, outbox: { discarded: 2 } })})`;
    },
  },
);
const as = (who: keyof DashboardWorld['users']) => pageClient(ctx.server.app, w.users[who].email);

describe('device page: health', () => {
  test('the latest heartbeat in words, and the last days by the hour with the silent hours as gaps', async () => {
    const res = await (await as('technician')).get(`/fleet/${w.deviceA}`);
    assert.equal(res.status, 200);
    const section = strip(textById(res.html, 'device-health') ?? '');
    assert.match(section, /Healthy: OK/);
    assert.match(section, /Agent 0\.4\.1, up 2 h 0 min/);
    assert.match(section, /Probe Convex-3\.5MHz, 15\.0 frames\/s/);
    assert.match(
      section,
      /Outbox 1 waiting \(2 MB\), oldest 5 min, 2 given up on the device \(never uploaded\)/,
    );
    assert.match(section, /Disk free 7\.0 GB \(captures stop below 200 MB\)/);
    assert.match(section, /Clock synchronised \(timesyncd\), offset 12 ms/);
    assert.match(section, /Last error image\.png: connect ETIMEDOUT/);
    assert.match(section, /Models ribeye-hint@3\.0\.0, ribeye-view@3\.1\.0 /);
    assert.match(
      section,
      /Captures since the agent started 41 captured, 7 refused \(not_a_ribeye_view 6, off_animal 1\), 2 refused as the queue was full /,
    );
    const chart = /<figure[^>]*id="device-trend"[\s\S]*?<\/figure>/.exec(res.html)?.[0] ?? '';
    assert.match(chart, /<svg[^>]*role="img"/);
    // The two panels, in order: everything from one's data-quantity to the next's.
    const [, backlog = '', disk = ''] = chart.split(/data-quantity="(?:Outbox backlog|Disk free)"/);
    assert.equal((backlog.match(/class="point"/g) ?? []).length, 3, 'three hours heard');
    const [{ rolled } = { rolled: 0 }] = await ctx.db.sql<{ rolled: number }[]>`
      SELECT (extract(epoch FROM date_trunc('hour', now()) - ${seededHour}::timestamptz) / 3600)::int AS rolled`;
    assert.equal((backlog.match(/class="missing"/g) ?? []).length, 3 + rolled, 'three silent hours');
    assert.match(backlog, /: 5 captures</, 'the hour with two heartbeats shows the larger backlog');
    assert.ok(!backlog.includes('99 captures'), 'history older than the window is left out');
    assert.match(backlog, /: 1 capture</, 'one capture is singular');
    assert.doesNotMatch(chart, /\b1 captures\b/);
    assert.match(disk, /: 7\.4 GB</, 'the least free disk of the hour');
    assert.match(disk, /no value \(not reported\)/, 'a heartbeat without the figure is not a 0');
    assert.match(
      strip(chart),
      new RegExp(
        `Hourly, ${6 + rolled} hours\\. Outbox backlog: at most 5 captures waiting, 1 in the last hour heard\\. ` +
          `Disk free: least 7\\.0 GB\\. ${3 + rolled} hours without a heartbeat\\.`,
      ),
    );
  });

  test('?days= picks the chart’s span within the kept history (default 7); anything else is a 422 naming it', async () => {
    const tech = await as('technician');
    const week = await tech.get(`/fleet/${w.deviceA}`);
    assert.match(strip(week.html), /The last 7 days by the hour/);
    assert.match(week.html, /<strong aria-current="true">7 days<\/strong>/);
    assert.match(week.html, new RegExp(`href="/fleet/${w.deviceA}\\?days=1#device-health"`));
    const day = await tech.get(`/fleet/${w.deviceA}?days=1`);
    assert.equal(day.status, 200);
    assert.match(strip(day.html), /The last 1 day by the hour/);
    assert.match(day.html, /<strong aria-current="true">1 day<\/strong>/);
    for (const bad of ['0', '8', 'abc', '1.5', '-1']) {
      const res = await tech.get(`/fleet/${w.deviceA}?days=${bad}`);
      assert.equal(res.status, 422, bad);
      assert.match(
        strip(res.html),
        /The address's “days” value must be a whole number of days from 1 to 7/,
        bad,
      );
    }
  });

  test('a hint without its view card is called out; an agent that reports no capture counts says so', async () => {
    const sql = ctx.db.sql;
    await sql`UPDATE device_health SET models = ${sql.json([MODELS[0]!])}, body = '{}' WHERE device_id = ${w.deviceA}`;
    try {
      const section = strip(
        textById((await (await as('technician')).get(`/fleet/${w.deviceA}`)).html, 'device-health') ?? '',
      );
      assert.match(section, /Models ribeye-hint@3\.0\.0 — no view card: wrong views are not refused/);
      assert.match(section, /Captures since the agent started not reported/);
    } finally {
      await sql`UPDATE device_health SET models = ${sql.json(MODELS)}, body = ${sql.json({ captures_by_result: CAPTURES })}
                 WHERE device_id = ${w.deviceA}`;
    }
  });

  test('a device never heard says so and draws no chart; another farm’s device is 404', async () => {
    const admin = await (await as('admin')).get(`/fleet/${w.deviceB}`);
    assert.equal(admin.status, 200);
    assert.match(textById(admin.html, 'health-none') ?? '', /No heartbeat yet/);
    assert.ok(!admin.html.includes('id="device-trend"'));
    assert.equal((await (await as('technician')).get(`/fleet/${w.deviceB}`)).status, 404);
  });
});

describe('GET /api/v1/devices/{id}/health', () => {
  test('the latest snapshot and the hours, as the page draws them; days bounds the window', async () => {
    const api = apiClient(ctx.server.app);
    assert.equal((await api.signIn(w.users.technician.email, TEST_PASSWORD)).status, 200);
    const res = await api.request('GET', `/api/v1/devices/${w.deviceA}/health`);
    assert.equal(res.status, 200);
    assert.equal(res.body.device_id, w.deviceA);
    assert.equal(res.body.latest.agent_version, '0.4.1');
    assert.equal(res.body.latest.clock_source, 'timesyncd');
    assert.deepEqual(res.body.latest.models, MODELS);
    assert.deepEqual(res.body.latest.captures_by_result, CAPTURES);
    const hours = res.body.hours as { heartbeats: number; pending_captures: number | null }[];
    assert.ok(hours.length >= 6, `${hours.length} hours`);
    assert.deepEqual(
      hours.slice(0, 6).map((h) => [h.heartbeats, h.pending_captures]),
      [
        [2, 5],
        [0, null],
        [0, null],
        [1, 0],
        [0, null],
        [1, 1],
      ],
    );
    const lastDay = await api.request('GET', `/api/v1/devices/${w.deviceA}/health?days=1`);
    assert.equal(lastDay.status, 200);
    assert.equal(lastDay.body.hours.length, hours.length, 'all six hours are within a day');
    assert.equal((await api.request('GET', `/api/v1/devices/${w.deviceA}/health?days=0`)).status, 422);
    assert.equal((await api.request('GET', `/api/v1/devices/${w.deviceB}/health`)).status, 404);
  });

  test('a device never heard: latest null, no hours', async () => {
    const api = apiClient(ctx.server.app);
    await api.signIn(w.users.admin.email, TEST_PASSWORD);
    const res = await api.request('GET', `/api/v1/devices/${w.deviceB}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.latest, res.body.hours], [null, []]);
  });
});
