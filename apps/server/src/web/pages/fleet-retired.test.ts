import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { createDeviceCommand } from '../../devices/device-command.ts';
import { addDeviceKey } from '../../devices/device-keys.ts';
import { runFleetCheck } from '../../devices/fleet-check.ts';
import { heartbeatBody, signedHeartbeat } from '../../devices/test-heartbeats.ts';
import { apiClient } from '../../test-api-client.ts';
import { TEST_PASSWORD } from '../../test-seed.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { type PageClient, pageClient, strip, textById } from './test-page-client.ts';

// Review r11 F7 and F8 on a real database, with heartbeats signed like the agent's: a retired Pi
// (`cti-server device retire`) leaves the fleet's problems, the silence check and /metrics, its
// heartbeats are refused saying "retired", its page and scans stay; a silence that was notified
// ends with a "back" notification that links to the device's page.

const secrets: Record<string, string> = {};
const { ctx, w } = useDashboardApp();

beforeEach(async () => {
  const sql = ctx.db.sql;
  await sql`TRUNCATE device_heartbeats, device_health, device_request_rejections, device_keys, notifications`;
  await sql`UPDATE devices SET retired_at = NULL, retired_by = NULL, retired_reason = NULL`;
  for (const code of ['dev-a', 'dev-b']) secrets[code] = (await addDeviceKey(sql, code)).secret;
});

async function beat(code = 'dev-a', at = Date.now()) {
  const body = heartbeatBody(code, new Date(at));
  const init = signedHeartbeat(secrets[code]!, body, { timestamp: Math.floor(at / 1000), device: code });
  const res = await ctx.server.app.request('/devices/heartbeat', init);
  return { status: res.status, body: (await res.json()) as { error?: string; message?: string } };
}

/** `cti-server device …` as an admin runs it; stderr returned. */
async function device(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const command = createDeviceCommand({
    io: { out: (s) => (out += s), err: (s) => (err += s) },
    env: { DATABASE_URL: ctx.db.url },
  });
  return { code: (await command.run(args)) ?? -1, out, err };
}

const as = (who: keyof typeof w.users): Promise<PageClient> => pageClient(ctx.server.app, w.users[who].email);
const check = (silentAfterSeconds = 600) =>
  runFleetCheck(ctx.db.sql, { config: { silentAfterSeconds, historyDays: 7 }, deaf: [] });

describe('retiring a device (r11 F7)', () => {
  test('retire: keys revoked, heartbeats refused saying "retired", not silent, not on /metrics; listed apart on the fleet; its page says when and by whom', async () => {
    // dev-a last heard 2 h ago: silent, red and first on the fleet.
    assert.equal((await beat('dev-a')).status, 200);
    await ctx.db.sql`UPDATE device_health SET received_at = now() - interval '2 hours'`;
    let fleet = strip((await (await as('technician')).get('/fleet')).html);
    assert.match(fleet, /Problem: silent for 2 h/);

    const done = await device('retire', 'dev-a', '--reason', 'replaced by dev-c');
    assert.equal(done.code, 0, done.err);
    assert.match(done.err, /Device dev-a retired at \S+Z; 1 key\(s\) revoked/);
    const [row] = await ctx.db.sql`
      SELECT retired_at, retired_by, retired_reason,
             (SELECT count(*)::int FROM device_keys k WHERE k.device_id = d.id AND (k.expires_at IS NULL OR k.expires_at > now())) AS current
        FROM devices d WHERE device_code = 'dev-a'`;
    assert.ok(row!.retired_at instanceof Date);
    assert.match(row!.retired_by, / \(command line\)$/);
    assert.equal(row!.retired_reason, 'replaced by dev-c');
    assert.equal(row!.current, 0);

    // Its heartbeat (even signed with its old key) is refused, and the refusal says why.
    const refused = await beat('dev-a');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'device_retired');
    assert.match(refused.body.message!, /^device dev-a was retired at \S+Z: its heartbeats are refused/);

    // Not silent, not notified, not on /metrics.
    assert.deepEqual(await check(), { skipped: false, silent: [], pruned: 0 });
    const [n] = await ctx.db.sql`SELECT count(*)::int AS n FROM notifications`;
    assert.equal(n!.n, 0);
    const metrics = await (await ctx.server.app.request('/metrics')).text();
    assert.doesNotMatch(metrics, /device="dev-a"/);

    // The fleet: no longer a problem row; a collapsed "Retired" section with when, by whom, why.
    const { html } = await (await as('technician')).get('/fleet');
    fleet = strip(html);
    assert.equal(textById(html, 'fleet'), undefined, "farm A's only device is retired");
    assert.match(fleet, /No devices in service/);
    const admin = (await (await as('admin')).get('/fleet')).html;
    assert.match(textById(admin, 'fleet') ?? '', /dev-b/);
    assert.doesNotMatch(textById(admin, 'fleet') ?? '', /dev-a/);
    assert.doesNotMatch(fleet, /Problem: silent/);
    const retired = textById(html, 'fleet-retired') ?? '';
    assert.match(
      retired,
      /Retired \(1\): not watched, heartbeats refused dev-a — Maple Farm; last heard .* ?; retired \d{4}-\d\d-\d\d \d\d:\d\d \S+ by \S+ \(command line\): replaced by dev-c/,
    );
    assert.match(html, new RegExp(`href="/fleet/${w.deviceA}"`));

    // Its page is still there, with its history and its retirement.
    const page = await (await as('technician')).get(`/fleet/${w.deviceA}`);
    assert.equal(page.status, 200);
    assert.match(
      textById(page.html, 'device-retired') ?? '',
      /^Retired .* by \S+ \(command line\): replaced by dev-c\./,
    );
    assert.match(textById(page.html, 'device-health') ?? '', /retired \d{4}/);

    // The API says it too; `device list` too.
    const api = await (await as('admin')).api.request('GET', '/api/v1/devices');
    // biome-ignore lint/suspicious/noExplicitAny: checked against the OpenAPI document by the client
    const item = (api.body.items as any[]).find((d) => d.device_code === 'dev-a');
    assert.equal(item.retired.reason, 'replaced by dev-c');
    const list = await device('list');
    assert.match(list.out, /^ {2}retired \S+Z by \S+ \(command line\): replaced by dev-c$/m);

    // Its scans are untouched.
    const [scans] = await ctx.db.sql`SELECT count(*)::int AS n FROM scans WHERE device_id = ${w.deviceA}`;
    assert.ok(scans!.n > 0);
  });

  test('retire refuses an unknown or already retired device, and bad reasons, writing nothing; a retired device gets no key; unretire brings it back without a key', async () => {
    assert.deepEqual(
      { ...(await device('retire', 'dev-zz')), out: '' },
      { code: 1, out: '', err: 'cti-server device: no device dev-zz\n' },
    );
    const bad = await device('retire', 'dev-a', '--reason', 'a\u001bb');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--reason must be 500 characters or fewer .*U\+001B/);
    const [still] = await ctx.db.sql`SELECT retired_at FROM devices WHERE device_code = 'dev-a'`;
    assert.equal(still!.retired_at, null);

    assert.equal((await device('retire', 'dev-a')).code, 0);
    const again = await device('retire', 'dev-a');
    assert.equal(again.code, 1);
    assert.match(again.err, /device dev-a was already retired at \S+Z by/);

    assert.equal((await beat('dev-a')).status, 401);
    // No key for a retired device (review r13 F2): add and rotate-secret refused, nothing written.
    const keysBefore = await ctx.db.sql`SELECT k.* FROM device_keys k JOIN devices d ON d.id = k.device_id
      WHERE d.device_code = 'dev-a' ORDER BY k.id`;
    for (const args of [
      ['add', 'dev-a', '--label', 'Renamed'],
      ['rotate-secret', 'dev-a', '--overlap', '0'],
    ]) {
      const refusedKey = await device(...args);
      assert.equal(refusedKey.code, 1, args.join(' '));
      assert.equal(refusedKey.out, '', 'no secret printed');
      assert.match(
        refusedKey.err,
        /^cti-server device: device dev-a is retired since \S+Z \(by \S+ \(command line\)\): unretire it first \(`cti-server device unretire dev-a`\)/,
      );
    }
    assert.deepEqual(
      await ctx.db.sql`SELECT k.* FROM device_keys k JOIN devices d ON d.id = k.device_id
        WHERE d.device_code = 'dev-a' ORDER BY k.id`,
      keysBefore,
    );
    const [label] = await ctx.db.sql`SELECT label FROM devices WHERE device_code = 'dev-a'`;
    assert.notEqual(label!.label, 'Renamed');
    const back = await device('unretire', 'dev-a');
    assert.equal(back.code, 0, back.err);
    assert.match(back.err, /without a key: `cti-server device add dev-a` issues one/);
    // In service again: no "refused: the device is retired — fix: unretire" left (review r13 F9).
    const api = await (await as('admin')).api.request('GET', '/api/v1/devices');
    // biome-ignore lint/suspicious/noExplicitAny: checked against the OpenAPI document by the client
    const item = (api.body.items as any[]).find((d) => d.device_code === 'dev-a');
    assert.equal(item.retired, null);
    assert.equal(item.heartbeats_refused, null);
    const row = textById((await (await as('admin')).get('/fleet')).html, 'fleet') ?? '';
    assert.match(row, /dev-a/);
    assert.doesNotMatch(row, /retired/);
    assert.doesNotMatch((await device('list')).out, /device_retired/);
    assert.equal((await beat('dev-a')).body.error, 'no_device_key', 'its old key stays revoked');
    secrets['dev-a'] = (await addDeviceKey(ctx.db.sql, 'dev-a')).secret;
    assert.equal((await beat('dev-a')).status, 200);
    assert.equal((await device('unretire', 'dev-a')).code, 1);
  });
});

describe('retiring from the device page and the API (admins)', () => {
  test('the page form: a bad reason is shown beside the field, nothing written; retired by the admin, then brought back', async () => {
    const admin = await as('admin');
    const page = await admin.get(`/fleet/${w.deviceA}`);
    assert.match(textById(page.html, 'device-retire') ?? '', /Retire this device/);
    assert.equal(
      textById((await (await as('technician')).get(`/fleet/${w.deviceA}`)).html, 'device-retire'),
      undefined,
    );

    const bad = await admin.post(`/fleet/${w.deviceA}/retire`, { reason: 'a\u202eb' });
    assert.equal(bad.status, 422);
    assert.match(textById(bad.html, 'device-retire') ?? '', /Reason.*U\+202E/);
    const [still] = await ctx.db.sql`SELECT retired_at FROM devices WHERE id = ${w.deviceA}`;
    assert.equal(still!.retired_at, null);

    const done = await admin.post(`/fleet/${w.deviceA}/retire`, { reason: 'stolen from the barn' });
    assert.equal(done.status, 303);
    const [row] = await ctx.db.sql`SELECT retired_by, retired_reason FROM devices WHERE id = ${w.deviceA}`;
    assert.deepEqual({ ...row }, { retired_by: w.users.admin.email, retired_reason: 'stolen from the barn' });
    assert.equal((await beat('dev-a')).body.error, 'device_retired');
    const retired = await admin.get(`/fleet/${w.deviceA}`);
    assert.match(
      textById(retired.html, 'device-retired') ?? '',
      new RegExp(`by ${w.users.admin.email}: stolen from the barn`),
    );
    assert.match(textById(retired.html, 'device-retire') ?? '', /Bring back into service/);
    // Retire pressed again (a double submit, another admin): the page says it was already done (r18 F1).
    const twice = await admin.post(`/fleet/${w.deviceA}/retire`, { reason: 'again' });
    assert.equal(twice.status, 409);
    assert.match(
      textById(twice.html, 'device-retire') ?? '',
      new RegExp(`already retired at \\S+ by ${w.users.admin.email}`),
    );
    const [kept] = await ctx.db.sql`SELECT retired_reason FROM devices WHERE id = ${w.deviceA}`;
    assert.equal(kept!.retired_reason, 'stolen from the barn');
    assert.equal((await admin.post(`/fleet/${w.deviceA}/unretire`)).status, 303);
    const [back] = await ctx.db.sql`SELECT retired_at FROM devices WHERE id = ${w.deviceA}`;
    assert.equal(back!.retired_at, null);
    const inService = await admin.post(`/fleet/${w.deviceA}/unretire`);
    assert.equal(inService.status, 409);
    assert.match(textById(inService.html, 'device-retire') ?? '', /not retired/);
  });

  test('the API (checked against the OpenAPI document): retire, 409 when already retired, unretire, 409 when in service', async () => {
    const api = apiClient(ctx.server.app);
    assert.equal((await api.signIn(w.users.admin.email, TEST_PASSWORD)).status, 200);
    const retired = await api.request('POST', `/api/v1/devices/${w.deviceB}/retire`, {
      body: { reason: null },
    });
    assert.equal(retired.status, 200, retired.text);
    assert.equal(retired.body.retired.by, w.users.admin.email);
    assert.equal(retired.body.retired.reason, null);
    const again = await api.request('POST', `/api/v1/devices/${w.deviceB}/retire`, { body: {} });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'already_retired');
    const list = await api.request('GET', '/api/v1/devices');
    assert.equal(list.status, 200);
    const back = await api.request('POST', `/api/v1/devices/${w.deviceB}/unretire`);
    assert.equal(back.status, 200, back.text);
    assert.equal(back.body.retired, null);
    const twice = await api.request('POST', `/api/v1/devices/${w.deviceB}/unretire`);
    assert.equal(twice.status, 409);
    assert.equal(twice.body.error, 'not_retired');
  });
});

describe('back online (r11 F8)', () => {
  test('a notified silence ends with a device_back notification saying how long it lasted, linked to the device page', async () => {
    assert.equal((await beat('dev-a')).status, 200);
    await ctx.db.sql`UPDATE device_health SET received_at = now() - interval '47 minutes'`;
    assert.deepEqual(await check(), { skipped: false, silent: ['dev-a'], pruned: 0 });
    assert.equal((await beat('dev-a')).status, 200);

    const rows = await ctx.db.sql<{ email: string; dedupe_key: string; payload: Record<string, unknown> }[]>`
      SELECT u.email, n.dedupe_key, n.payload FROM notifications n JOIN users u ON u.id = n.user_id
       WHERE n.type = 'device_back' ORDER BY u.email`;
    assert.deepEqual(
      rows.map((r) => r.email),
      [w.users.admin.email, w.users.technician.email].sort(),
      'the same audience as the silence',
    );
    const [silent] = await ctx.db
      .sql`SELECT dedupe_key FROM notifications WHERE type = 'device_silent' LIMIT 1`;
    assert.equal(rows[0]!.dedupe_key, silent!.dedupe_key.replace('device_silent', 'device_back'));
    assert.equal(rows[0]!.payload.device_id, w.deviceA);
    const lasted = rows[0]!.payload.silent_for_s as number;
    assert.ok(lasted >= 47 * 60 && lasted < 48 * 60, String(lasted));

    const { html } = await (await as('technician')).get('/notifications');
    const list = textById(html, 'notifications') ?? '';
    assert.match(list, /Device dev-a is back after 47 min without a heartbeat/);
    assert.match(list, /Device dev-a went silent/);
    assert.equal(html.split(`href="/fleet/${w.deviceA}"`).length - 1, 2, 'both link to the device page');

    // A second heartbeat: no second "back".
    assert.equal((await beat('dev-a')).status, 200);
    const [n] = await ctx.db.sql`SELECT count(*)::int AS n FROM notifications WHERE type = 'device_back'`;
    assert.equal(n!.n, 2);
  });

  test('device_back goes only to those told of the silence: not to a technician who turned device_silent off (review r13 F12)', async () => {
    await ctx.db.sql`
      INSERT INTO user_notification_settings (user_id, type, enabled)
      VALUES (${w.users.technician.id}, 'device_silent', false)`;
    try {
      assert.equal((await beat('dev-a')).status, 200);
      await ctx.db.sql`UPDATE device_health SET received_at = now() - interval '47 minutes'`;
      assert.deepEqual(await check(), { skipped: false, silent: ['dev-a'], pruned: 0 });
      assert.equal((await beat('dev-a')).status, 200);
      const told = await ctx.db.sql<{ type: string; email: string }[]>`
        SELECT n.type, u.email FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE n.type IN ('device_silent', 'device_back') ORDER BY n.type, u.email`;
      assert.deepEqual(
        told.map((r) => `${r.type} ${r.email}`),
        [`device_back ${w.users.admin.email}`, `device_silent ${w.users.admin.email}`],
      );
    } finally {
      await ctx.db.sql`DELETE FROM user_notification_settings WHERE user_id = ${w.users.technician.id}`;
    }
  });

  test('a device quiet for the threshold without a notification (none sent) is not told back', async () => {
    assert.equal((await beat('dev-a')).status, 200);
    await ctx.db.sql`UPDATE device_health SET received_at = now() - interval '11 minutes'`;
    assert.equal((await beat('dev-a')).status, 200);
    const [n] = await ctx.db.sql`SELECT count(*)::int AS n FROM notifications`;
    assert.equal(n!.n, 0);
  });

  test('the notification settings cover device_back', async () => {
    const res = await (await as('technician')).api.request('GET', '/api/v1/me/notification-settings');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(JSON.stringify(res.body).includes('device_back'), true);
  });
});
