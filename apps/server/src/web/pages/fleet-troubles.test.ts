import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { EXAMPLE_BUCKET, exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { createDeviceCommand } from '../../devices/device-command.ts';
import { addDeviceKey } from '../../devices/device-keys.ts';
import { heartbeatBody, signedHeartbeat } from '../../devices/test-heartbeats.ts';
import { signedInit, withRelayFields } from '../../test-helpers.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { type PageClient, pageClient, strip, textById } from './test-page-client.ts';

// Review r11 F5 and F14 on a real database, with heartbeats signed like the agent's and captures
// through the real webhook: a Pi whose heartbeats are refused (its clock, its key) says why on the
// fleet, the device page, the API and `cti-server device list`, to those who may see it; a Pi that
// reports uploads that never arrived here is flagged, past CTI_DEVICE_UPLOAD_ARRIVAL_S (900 s) only.

const secrets: Record<string, string> = {};
const { ctx, w } = useDashboardApp(async (sql) => {
  for (const code of ['dev-a', 'dev-b']) secrets[code] = (await addDeviceKey(sql, code)).secret;
});
const MIN = 60_000;

beforeEach(async () => {
  const sql = ctx.db.sql;
  await sql`TRUNCATE device_heartbeats, device_health, device_request_rejections`;
  await sql`UPDATE devices SET last_upload_at = now() - interval '2 hours'`;
  // …as their scans say: a non-admin's "last upload" is that of the scans they may read (review r11 F12).
  await sql`UPDATE scans SET created_at = now() - interval '2 hours'`;
});

/** A heartbeat of dev-a (or `code`), signed with its own key at the Pi's clock `at` (default now). */
async function beat(
  patch: Parameters<typeof heartbeatBody>[2] = {},
  { at = Date.now(), code = 'dev-a', key = code }: { at?: number; code?: string; key?: string } = {},
): Promise<number> {
  const body = heartbeatBody(code, new Date(at), patch);
  const init = signedHeartbeat(secrets[key]!, body, { timestamp: Math.floor(at / 1000), device: code });
  return (await ctx.server.app.request('/devices/heartbeat', init)).status;
}

const as = (who: keyof typeof w.users): Promise<PageClient> => pageClient(ctx.server.app, w.users[who].email);
async function apiDevice(who: keyof typeof w.users, code = 'dev-a') {
  const client = await as(who);
  const res = await client.api.request('GET', '/api/v1/devices');
  assert.equal(res.status, 200);
  // biome-ignore lint/suspicious/noExplicitAny: checked against the OpenAPI document by the client
  return (res.body.items as any[]).find((d) => d.device_code === code);
}
/** The fleet table's row of dev-a, as text. */
const fleetRow = async (who: keyof typeof w.users) => {
  const { html } = await (await as(who)).get('/fleet');
  return strip(html.split('<tr').find((row) => row.includes('<strong>dev-a</strong>')) ?? '');
};

describe('heartbeats refused (r11 F5)', () => {
  test('a Pi 6 min behind: the fleet, the device page and the API say refused since when, why and the fix — to those who see it', async () => {
    assert.equal(await beat(), 200);
    for (let i = 0; i < 3; i++) assert.equal(await beat({}, { at: Date.now() - 6 * MIN + i * 1000 }), 401);

    const item = await apiDevice('technician');
    assert.equal(item.heartbeats_refused.error_code, 'stale_timestamp');
    assert.equal(item.heartbeats_refused.http_status, 401);
    assert.equal(item.heartbeats_refused.last_hour, 3);
    assert.match(item.heartbeats_refused.reason, /^the Pi's clock is more than 5 min behind the server's$/);
    assert.match(item.heartbeats_refused.fix, /sudo timedatectl set-ntp true/);
    assert.ok(item.heartbeats_refused.since <= item.heartbeats_refused.last_at);
    assert.equal(
      (await apiDevice('technician', 'dev-b')) ?? null,
      null,
      "another farm's device is not listed",
    );
    assert.equal((await apiDevice('admin', 'dev-b')).heartbeats_refused, null);
    assert.equal((await apiDevice('stranger')) ?? null, null, 'a farmer of the other farm never sees it');

    const row = await fleetRow('technician');
    assert.match(
      row,
      /Problem: heartbeats refused since \d{4}-\d\d-\d\d \d\d:\d\d \S+: the Pi's clock is more than 5 min behind the server's \(3 in the last hour\)/,
    );
    assert.match(row, /Fix: set the Pi's clock: sudo timedatectl set-ntp true/);
    assert.match(row, /off \(heartbeats refused\)/, "the old snapshot's clock is not shown as synced");
    assert.doesNotMatch(row, /synced, 12 ms/);

    const page = await (await as('farmer')).get(`/fleet/${w.deviceA}`);
    const health = strip(textById(page.html, 'device-health') ?? '');
    assert.match(health, /Problem: heartbeats refused since .*\(3 in the last hour\)/);
    assert.match(
      strip(textById(page.html, 'heartbeat-refusals') ?? ''),
      /refused since .*, the last at .*: 401 stale_timestamp — the Pi's clock is more than 5 min behind the server's \(the fix is under the badges\)\. Until one is accepted, the figures below are those of the last accepted heartbeat\./,
    );
    assert.equal(
      health.match(/Fix: set the Pi's clock: sudo timedatectl set-ntp true/g)?.length,
      1,
      'the fix once',
    );
    assert.match(
      health,
      /Clock the Pi's clock is more than 5 min behind the server's \(heartbeats refused since/,
    );
    assert.equal((await (await as('stranger')).get(`/fleet/${w.deviceA}`)).status, 404);
  });

  test('a rotated secret not installed: bad_signature in words; an accepted heartbeat clears it; a replay is not a refusal', async () => {
    assert.equal(await beat({}, { key: 'dev-b' }), 401, "dev-b's key speaking for dev-a");
    const refused = (await apiDevice('admin')).heartbeats_refused;
    assert.equal(refused.error_code, 'bad_signature');
    assert.match(refused.reason, /not a current key of this device/);
    assert.match(refused.fix, /install the device's new secret/);
    const row = await fleetRow('admin');
    assert.match(
      row,
      /Problem: heartbeats refused since .*not a current key of this device.*\(1 in the last hour\)/,
    );
    assert.match(row, /Unknown: no heartbeat yet/, 'never accepted: both are said');

    const body = heartbeatBody('dev-a', new Date());
    const init = signedHeartbeat(secrets['dev-a']!, body);
    assert.equal((await ctx.server.app.request('/devices/heartbeat', init)).status, 200);
    assert.equal(
      (await apiDevice('admin')).heartbeats_refused,
      null,
      'refusals before an accepted heartbeat are history',
    );
    assert.equal((await ctx.server.app.request('/devices/heartbeat', init)).status, 409);
    assert.equal((await apiDevice('admin')).heartbeats_refused, null, 'a replayed request is not a refusal');
    assert.doesNotMatch(await fleetRow('admin'), /refused/);
  });

  test('`cti-server device list` prints the refusal and the fix', async () => {
    await beat({}, { at: Date.now() + 7 * MIN });
    let out = '';
    const command = createDeviceCommand({
      io: { out: (s) => (out += s), err: () => {} },
      env: { DATABASE_URL: ctx.db.url },
    });
    assert.equal(await command.run(['list']), 0);
    assert.match(
      out,
      /^dev-a {2}last heartbeat never\n {2}heartbeats refused since \S+Z: 401 future_timestamp, the Pi's clock is more than the allowed difference \(CTI_SIGNATURE_TOLERANCE_S, 5 min by default\) ahead of the server's \(1 in the last hour\)\n {2}fix: set the Pi's clock: `sudo timedatectl set-ntp true`/m,
    );
    assert.doesNotMatch(out.split('dev-b')[1] ?? '', /refused/);
  });
});

describe('uploads not arriving (r11 F14)', () => {
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

  test('the Pi uploaded 20 min ago, nothing arrived for 2 h: flagged with the figures of both sides; an arrival clears it', async () => {
    assert.equal(
      await beat({
        last_upload_at: ago(20 * MIN),
        last_capture_at: ago(21 * MIN),
        captures_by_result: { captured: 37 },
      }),
      200,
    );
    const item = await apiDevice('technician');
    assert.equal(item.uploads_not_arriving, true);
    assert.equal(item.reported.captured, 37);
    assert.equal(Date.parse(item.reported.last_upload_at) > Date.parse(item.last_upload_at), true);

    const row = await fleetRow('technician');
    assert.match(
      row,
      /Problem: uploads not arriving: the Pi reports an upload at .* \(37 captured since its agent started at .*\); none arrived here for 2 h 0 min \(the last at .*\)/,
    );
    assert.match(
      row,
      /Fix: check the relay \(its log, cti-relay status ?\), that the bucket the Pi uploads to is in CTI_S3_BUCKETS/,
    );
    assert.match(row, /\(the Pi: \d{4}-/, "the Pi's last upload beside the server's");
    assert.doesNotMatch(row, /Healthy: OK/);
    const page = strip((await (await as('technician')).get(`/fleet/${w.deviceA}`)).html);
    assert.match(page, /Last upload arrived here .*; the Pi reports .* \(its clock\)/);
    // The technician's count: the scans of dev-a they may read (the world's three on Maple Farm).
    assert.match(
      page,
      /Captures 3 arrived here; the Pi reports 37 captured since its agent started at .*, and 0 captured since then arrived here/,
    );

    const meta = exampleMeta({
      device_code: 'dev-a',
      capture_id: `cap_${Date.now()}`,
      captured_at: ago(20 * MIN).replace(/\.\d+Z$/, 'Z'),
    });
    const capture = withRelayFields(
      exampleWebhookBody({ bucket: EXAMPLE_BUCKET, meta_json: meta }),
      meta.capture_id,
    );
    assert.equal((await ctx.server.app.request('/ingest/webhook', signedInit(capture))).status, 201);
    assert.equal((await apiDevice('technician')).uploads_not_arriving, false);
    assert.match(await fleetRow('technician'), /Healthy: OK/);
  });

  test('within the normal upload → relay → ingest delay, and a Pi clock 4 min ahead whose upload arrived: not flagged', async () => {
    await beat({ last_upload_at: ago(5 * MIN) });
    assert.equal(
      (await apiDevice('admin')).uploads_not_arriving,
      false,
      '5 min < CTI_DEVICE_UPLOAD_ARRIVAL_S',
    );
    // Stamped 16 min ago, by an on-time clock: flagged. The same stamp from a Pi whose clock is 4 min
    // ahead (its measured offset) was an upload 20 min ago by the server's clock, which arrived a minute later.
    await ctx.db
      .sql`UPDATE devices SET last_upload_at = now() - interval '19 minutes' WHERE id = ${w.deviceA}`;
    const stamp = ago(16 * MIN);
    assert.equal(await beat({ last_upload_at: stamp, clock: { synced: true, offset_ms: 0 } }), 200);
    assert.equal((await apiDevice('admin')).uploads_not_arriving, true, 'an on-time clock: 16 min, flagged');
    const ahead = 4 * MIN;
    assert.equal(
      await beat(
        { last_upload_at: stamp, clock: { synced: true, offset_ms: ahead } },
        { at: Date.now() + ahead },
      ),
      200,
    );
    assert.equal(
      (await apiDevice('admin')).uploads_not_arriving,
      false,
      "the Pi's clock corrected by its offset",
    );
  });
});
