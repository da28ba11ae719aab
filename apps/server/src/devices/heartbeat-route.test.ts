import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { createTestApp, testConfig } from '../test-helpers.ts';
import { rotateDeviceKey } from './device-keys.ts';
import { CLOCK_SYNC_BOOT_GRACE_S } from './health-episodes.ts';
import {
  backdateHeartbeat,
  heartbeatBody,
  MB,
  notificationsOf,
  signedHeartbeat,
  useFleetTestApp,
} from './test-heartbeats.ts';

// POST /devices/heartbeat through app.request() on a real migrated database, with the app's clock
// under the test's control: signatures are checked against it, and the Pi's clock (sent_at, the signed
// timestamp) follows it. What the server records is on the database's clock (review r13 F7): the
// answer's received_at says which time it was.

let now = Date.now();
const fleet = useFleetTestApp(() => now, [['dev-a', 'North barn'], ['dev-b']]);
let secretA: string;
let secretB: string;
beforeEach(() => {
  now = Date.now();
  secretA = fleet.secrets['dev-a']!;
  secretB = fleet.secrets['dev-b']!;
});

const post = (init: RequestInit) => fleet.server.app.request('/devices/heartbeat', init);
const beat = (secret: string, code: string, patch = {}, o: Parameters<typeof signedHeartbeat>[2] = {}) =>
  post(
    signedHeartbeat(secret, heartbeatBody(code, new Date(now), patch), {
      timestamp: Math.floor(now / 1000),
      ...o,
    }),
  );

async function state() {
  const [row] = await fleet.db.sql<
    { heartbeats: number; health: number; seen: Date | null; rejections: number }[]
  >`
    SELECT (SELECT count(*)::int FROM device_heartbeats) AS heartbeats,
           (SELECT count(*)::int FROM device_health) AS health,
           (SELECT max(last_seen_at) FROM devices) AS seen,
           (SELECT count(*)::int FROM device_request_rejections) AS rejections`;
  return row!;
}

/** The database's time the server recorded an accepted heartbeat at (its answer's received_at). */
const receivedAt = async (res: Response) => {
  assert.equal(res.status, 200, await res.clone().text());
  return new Date(((await res.clone().json()) as { received_at: string }).received_at);
};

const lastRejection = async () => {
  const [row] = await fleet.db.sql`
    SELECT device_code, http_status, error_code FROM device_request_rejections ORDER BY id DESC LIMIT 1`;
  return row;
};

describe('an accepted heartbeat', () => {
  test('records the snapshot, the history row, last_seen_at and the key use', async () => {
    const res = await beat(secretA, 'dev-a', {
      outbox: { pending_captures: 3, pending_bytes: 4_500_000, oldest_pending_age_s: 95, quarantined: 0 },
    });
    const at = await receivedAt(res);
    const answer = (await res.json()) as Record<string, unknown>;
    assert.equal(answer.accepted, true);
    // The database's clock (the same host's as this test's), where received_at is from.
    assert.ok(Math.abs((answer.server_time_ms as number) - Date.now()) < 1000, String(answer.server_time_ms));
    assert.ok(Math.abs(at.getTime() - Date.now()) < 1000, at.toISOString());
    const [health] = await fleet.db.sql`
      SELECT h.received_at, h.agent_version, h.models, h.pending_captures, h.pending_bytes, h.oldest_pending_age_s,
             h.disk_free_bytes, h.clock_synced, h.clock_offset_ms, h.probe_connected, h.frame_rate_fps,
             h.heartbeats_total, h.body->>'device_code' AS body_device, d.last_seen_at
      FROM device_health h JOIN devices d ON d.id = h.device_id WHERE d.device_code = 'dev-a'`;
    assert.deepEqual(health, {
      received_at: at,
      agent_version: '0.1.0',
      models: [{ name: 'ribeye-hint', version: '2.3.0' }],
      pending_captures: 3,
      pending_bytes: '4500000',
      oldest_pending_age_s: 95,
      disk_free_bytes: String(20_000 * MB),
      clock_synced: true,
      clock_offset_ms: 12,
      probe_connected: true,
      frame_rate_fps: 14.9,
      heartbeats_total: '1',
      body_device: 'dev-a',
      last_seen_at: at,
    });
    const [key] = await fleet.db
      .sql`SELECT last_used_at FROM device_keys k JOIN devices d ON d.id = k.device_id WHERE d.device_code = 'dev-a'`;
    assert.deepEqual(key!.last_used_at, at);
    now += 60_000;
    const next = await receivedAt(await beat(secretA, 'dev-a'));
    assert.ok(next > at);
    assert.deepEqual(await state(), { heartbeats: 2, health: 1, seen: next, rejections: 0 });
  });
});

describe('heartbeats arriving out of order', () => {
  test('an older heartbeat delivered after a newer one is kept in history but does not overwrite the snapshot', async () => {
    const sentNew = now;
    const sentOld = now - 120_000; // signed 2 min ago, inside the timestamp window, delayed on the way
    const older = signedHeartbeat(
      secretA,
      heartbeatBody('dev-a', new Date(sentOld), {
        outbox: { pending_captures: 90, pending_bytes: 9e8, oldest_pending_age_s: 5000, quarantined: 0 },
        probe: { connected: false, frame_rate_fps: 0 },
      }),
      { timestamp: Math.floor(sentOld / 1000) },
    );
    assert.equal((await beat(secretA, 'dev-a')).status, 200);
    now += 1000;
    await fleet.db.sql`UPDATE device_health SET silent_since = received_at`; // the fleet check ran meanwhile
    const res = await post(older);
    const at = await receivedAt(res);
    const answer = (await res.json()) as Record<string, unknown>;
    assert.equal(answer.accepted, true);
    const [health] = await fleet.db.sql`
      SELECT received_at, silent_since, sent_at, pending_captures, probe_connected, backlog_since, heartbeats_total
      FROM device_health`;
    assert.deepEqual(health, {
      received_at: at,
      silent_since: null,
      sent_at: new Date(sentNew),
      pending_captures: 0,
      probe_connected: true,
      backlog_since: null,
      heartbeats_total: '2',
    });
    assert.equal(answer.superseded, true, 'the answer says the snapshot was newer');
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_backlog'), [], 'no episode from stale news');
    assert.deepEqual(await state(), { heartbeats: 2, health: 1, seen: at, rejections: 0 });
  });
});

describe('a sent_at ahead of its own signature cannot freeze the snapshot (review r11 F2)', () => {
  const backlog = { pending_captures: 500, pending_bytes: 9e8, oldest_pending_age_s: 7200, quarantined: 0 };

  test('a body whose sent_at is 20 days after its signed timestamp is refused at /sent_at; later heartbeats count', async () => {
    const ahead = heartbeatBody('dev-a', new Date(now + 20 * 86_400_000));
    const res = await post(signedHeartbeat(secretA, ahead, { timestamp: Math.floor(now / 1000) }));
    const answer = (await res.json()) as { error: string; problems: { pointer: string; message: string }[] };
    assert.equal(res.status, 422, JSON.stringify(answer));
    assert.equal(answer.error, 'invalid_heartbeat');
    assert.deepEqual(
      answer.problems.map((p) => p.pointer),
      ['/sent_at'],
    );
    assert.match(
      answer.problems[0]!.message,
      /within 300 s \(CTI_SIGNATURE_TOLERANCE_S\) of the signed X-CTI-Timestamp/,
    );
    assert.equal((await state()).health, 0, 'nothing stored');
    now += 60_000;
    const next = await beat(secretA, 'dev-a', { outbox: backlog });
    const at = await receivedAt(next);
    assert.equal(((await next.json()) as { superseded: boolean }).superseded, false);
    const [row] = await fleet.db.sql`SELECT pending_captures, backlog_since FROM device_health`;
    assert.deepEqual(row, { pending_captures: 500, backlog_since: at });
  });

  test('within the tolerance either way is accepted (a clock read a little apart)', async () => {
    for (const apartS of [-300, 300]) {
      const body = heartbeatBody('dev-a', new Date(now + apartS * 1000));
      const res = await post(signedHeartbeat(secretA, body, { timestamp: Math.floor(now / 1000) }));
      assert.equal(res.status, 200, await res.clone().text());
      now += 1000;
    }
    const late = heartbeatBody('dev-a', new Date(now + 301_000));
    assert.equal(
      (await post(signedHeartbeat(secretA, late, { timestamp: Math.floor(now / 1000) }))).status,
      422,
    );
  });

  test('a snapshot stored with a future sent_at (before this check) holds later heartbeats back no longer than the tolerance', async () => {
    assert.equal((await beat(secretA, 'dev-a')).status, 200);
    await fleet.db.sql`UPDATE device_health SET sent_at = received_at + interval '20 days'`;
    now += 60_000;
    const res = await beat(secretA, 'dev-a', { outbox: backlog });
    assert.equal(((await res.json()) as { superseded: boolean }).superseded, true, 'within 300 s of it');
    now += 300_000;
    const later = await beat(secretA, 'dev-a', { outbox: backlog });
    assert.equal(((await later.json()) as { superseded: boolean }).superseded, false);
    const [row] = await fleet.db.sql`SELECT pending_captures, sent_at FROM device_health`;
    assert.deepEqual(row, { pending_captures: 500, sent_at: new Date(now) });
    assert.equal((await notificationsOf(fleet.db.sql, 'device_backlog')).length, 2);
  });
});

describe('refused heartbeats: 401/409/4xx, one rejection row, nothing else', () => {
  const refused = async (res: Response, status: number, error: string, device: string) => {
    assert.equal(res.status, status, await res.clone().text());
    assert.equal(((await res.json()) as { error: string }).error, error);
    assert.deepEqual(await lastRejection(), { device_code: device, http_status: status, error_code: error });
    const s = await state();
    assert.equal(s.heartbeats + s.health, 0, 'nothing recorded');
    assert.equal(s.seen, null, 'last_seen_at untouched');
  };

  test("device A's secret cannot speak for device B (header and body say B)", async () => {
    await refused(await beat(secretA, 'dev-b', {}, { device: 'dev-b' }), 401, 'bad_signature', 'dev-b');
  });

  test('an unknown device, and a device with no current key', async () => {
    await refused(await beat(secretA, 'dev-zz', {}, { device: 'dev-zz' }), 401, 'unknown_device', 'dev-zz');
    await fleet.db.sql`INSERT INTO devices (device_code) VALUES ('dev-ingest-only')`;
    await refused(
      await beat(secretA, 'dev-ingest-only', {}, { device: 'dev-ingest-only' }),
      401,
      'no_device_key',
      'dev-ingest-only',
    );
  });

  test('a replayed old request (timestamp 301 s old) and one from the future', async () => {
    const old = signedHeartbeat(secretA, heartbeatBody('dev-a', new Date(now - 301_000)), {
      timestamp: Math.floor(now / 1000) - 301,
    });
    await refused(await post(old), 401, 'stale_timestamp', 'dev-a');
    await refused(
      await beat(secretA, 'dev-a', {}, { timestamp: Math.floor(now / 1000) + 301 }),
      401,
      'future_timestamp',
      'dev-a',
    );
  });

  test("an out-of-window timestamp is the Pi's clock only when the device's key signed it (review r13 F3)", async () => {
    const stale = Math.floor(now / 1000) - 100_000;
    const forged = signedHeartbeat(secretA, heartbeatBody('dev-a', new Date(stale * 1000)), {
      timestamp: stale,
    });
    const bogus = {
      ...forged,
      headers: { ...forged.headers, 'X-CTI-Signature': `ed25519=${'ab'.repeat(64)}` },
    };
    await refused(await post(bogus), 401, 'bad_signature', 'dev-a');
    await refused(
      await beat(secretB, 'dev-a', {}, { timestamp: stale, device: 'dev-a' }),
      401,
      'bad_signature',
      'dev-a',
    );
    await refused(
      await beat(secretA, 'dev-a', {}, { timestamp: Math.floor(now / 1000) + 100_000 }),
      401,
      'future_timestamp',
      'dev-a',
    );
    const short = { ...forged, headers: { ...forged.headers, 'X-CTI-Signature': 'v1=AAAA' } };
    await refused(await post(short), 401, 'malformed_signature', 'dev-a');
  });

  test('an accepted heartbeat sent again after the window is a replay (409), not a clock problem', async () => {
    const init = signedHeartbeat(secretA, heartbeatBody('dev-a', new Date(now)), {
      timestamp: Math.floor(now / 1000),
    });
    assert.equal((await post(init)).status, 200);
    now += 3_600_000;
    const again = await post(init);
    assert.equal(again.status, 409, await again.clone().text());
    assert.equal(((await again.json()) as { error: string }).error, 'replayed_request');
    assert.deepEqual(await lastRejection(), {
      device_code: 'dev-a',
      http_status: 409,
      error_code: 'replayed_request',
    });
  });

  test('missing or malformed authentication headers', async () => {
    const good = signedHeartbeat(secretA, heartbeatBody('dev-a', new Date(now)), {
      timestamp: Math.floor(now / 1000),
    });
    const without = (name: string) => ({
      ...good,
      headers: Object.fromEntries(Object.entries(good.headers).filter(([k]) => k !== name)),
    });
    await refused(await post(without('X-CTI-Device')), 401, 'missing_device', '');
    await refused(await post(without('X-CTI-Signature')), 401, 'missing_signature', 'dev-a');
    await refused(await post(without('X-CTI-Timestamp')), 401, 'missing_timestamp', 'dev-a');
    await refused(
      await post({ ...good, headers: { ...good.headers, 'X-CTI-Device': 'DEV A' } }),
      401,
      'malformed_device',
      'DEV A',
    );
    const hmac = { ...good.headers, 'X-CTI-Signature': `sha256=${'0'.repeat(64)}` };
    await refused(await post({ ...good, headers: hmac }), 401, 'malformed_signature', 'dev-a');
  });

  test('an altered body no longer matches its signature', async () => {
    const init = signedHeartbeat(secretA, heartbeatBody('dev-a', new Date(now)), {
      timestamp: Math.floor(now / 1000),
    });
    await refused(
      await post({ ...init, body: init.body.replace('"uptime_s":3600', '"uptime_s":3601') }),
      401,
      'bad_signature',
      'dev-a',
    );
  });

  test('the same signed request sent again is a replay (409), recorded once', async () => {
    const init = signedHeartbeat(secretA, heartbeatBody('dev-a', new Date(now)), {
      timestamp: Math.floor(now / 1000),
    });
    const at = await receivedAt(await post(init));
    const again = await post(init);
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { error: string }).error, 'replayed_request');
    assert.deepEqual(await state(), { heartbeats: 1, health: 1, seen: at, rejections: 1 });
  });

  test('a signed body for another device, bad JSON, schema problems, wrong type, too large', async () => {
    const ts = Math.floor(now / 1000);
    await refused(
      await post(signedHeartbeat(secretA, heartbeatBody('dev-b', new Date(now)), { timestamp: ts })),
      422,
      'invalid_heartbeat',
      'dev-a',
    );
    await refused(
      await post(signedHeartbeat(secretA, '{"device_code":', { timestamp: ts })),
      400,
      'invalid_json',
      'dev-a',
    );
    const res = await post(
      signedHeartbeat(
        secretA,
        { ...heartbeatBody('dev-a', new Date(now)), uptime_s: -5, clock: {} },
        { timestamp: ts },
      ),
    );
    assert.equal(res.status, 422);
    const { problems } = (await res.json()) as { problems: { pointer: string }[] };
    assert.deepEqual(problems.map((p) => p.pointer).sort(), ['/clock/synced', '/uptime_s']);
    const nul = heartbeatBody('dev-a', new Date(now), {
      last_error: { at: new Date(now).toISOString(), message: 'a\u0000b' },
    });
    await refused(
      await post(signedHeartbeat(secretA, nul, { timestamp: ts })),
      422,
      'invalid_heartbeat',
      'dev-a',
    );
    await refused(
      await post(
        signedHeartbeat(secretA, heartbeatBody('dev-a', new Date(now)), {
          timestamp: ts,
          contentType: 'text/plain',
        }),
      ),
      415,
      'unsupported_media_type',
      'dev-a',
    );
    const huge = heartbeatBody('dev-a', new Date(now), { padding: 'x'.repeat(70_000) } as never);
    await refused(
      await post(signedHeartbeat(secretA, huge, { timestamp: ts })),
      413,
      'body_too_large',
      'dev-a',
    );
  });
});

describe('figures beyond what the columns hold are a 422 naming them (each was a 500 at insert)', () => {
  const outbox = { pending_captures: 0, pending_bytes: 0, oldest_pending_age_s: null, quarantined: 0 };
  const cases: [string, Record<string, unknown>, string][] = [
    [
      'pending_captures over int',
      { outbox: { ...outbox, pending_captures: 3e9 } },
      '/outbox/pending_captures',
    ],
    [
      'oldest_pending_age_s over int',
      { outbox: { ...outbox, oldest_pending_age_s: 3e9 } },
      '/outbox/oldest_pending_age_s',
    ],
    ['pending_bytes over 2^53 - 1', { outbox: { ...outbox, pending_bytes: 1e20 } }, '/outbox/pending_bytes'],
    ['uptime_s over 2^53 - 1', { uptime_s: 1e20 }, '/uptime_s'],
    ['disk free_bytes over 2^53 - 1', { disk: { free_bytes: 1e20 } }, '/disk/free_bytes'],
    ['clock offset_ms over int', { clock: { synced: true, offset_ms: 1e12 } }, '/clock/offset_ms'],
    [
      'frame_rate_fps over real',
      { probe: { connected: true, frame_rate_fps: 1e300 } },
      '/probe/frame_rate_fps',
    ],
    ['sent_at in year 9999 (clock_skew_ms is an int)', { sent_at: '9999-12-31T23:59:59Z' }, '/sent_at'],
  ];
  for (const [name, patch, pointer] of cases) {
    test(name, async () => {
      const body = { ...heartbeatBody('dev-a', new Date(now)), ...patch };
      const res = await post(signedHeartbeat(secretA, body as never, { timestamp: Math.floor(now / 1000) }));
      const answer = (await res.json()) as { error: string; problems?: { pointer: string }[] };
      assert.equal(res.status, 422, JSON.stringify(answer));
      assert.equal(answer.error, 'invalid_heartbeat');
      assert.deepEqual(
        answer.problems?.map((p) => p.pointer),
        [pointer],
      );
      assert.equal((await state()).health, 0);
    });
  }
});

describe('tiny, huge and negative-zero figures: stored as the columns hold them or a 422 naming them, never a 500 (review r11 F4)', () => {
  const outbox = { pending_captures: 0, pending_bytes: 0, oldest_pending_age_s: null, quarantined: 0 };
  const accepted: [string, Record<string, unknown>, string, unknown][] = [
    ['frame_rate_fps 1e-50', { probe: { connected: true, frame_rate_fps: 1e-50 } }, 'frame_rate_fps', 0],
    ['frame_rate_fps 5e-324', { probe: { connected: true, frame_rate_fps: 5e-324 } }, 'frame_rate_fps', 0],
    ['frame_rate_fps -0', { probe: { connected: true, frame_rate_fps: -0 } }, 'frame_rate_fps', 0],
    [
      'frame_rate_fps 14.987',
      { probe: { connected: true, frame_rate_fps: 14.987 } },
      'frame_rate_fps',
      14.99,
    ],
    [
      'frame_rate_fps 100000',
      { probe: { connected: true, frame_rate_fps: 100000 } },
      'frame_rate_fps',
      100000,
    ],
    ['offset_ms 1e-50', { clock: { synced: true, offset_ms: 1e-50 } }, 'clock_offset_ms', 0],
    ['offset_ms -1e-300', { clock: { synced: true, offset_ms: -1e-300 } }, 'clock_offset_ms', 0],
    [
      'offset_ms -2147483646.6',
      { clock: { synced: true, offset_ms: -2147483646.6 } },
      'clock_offset_ms',
      -2147483647,
    ],
    ['pending_captures -0', { outbox: { ...outbox, pending_captures: -0 } }, 'pending_captures', 0],
    ['disk free_bytes -0', { disk: { free_bytes: -0 } }, 'disk_free_bytes', '0'],
  ];
  for (const [name, patch, column, stored] of accepted) {
    test(`${name}: accepted, stored as ${JSON.stringify(stored)}`, async () => {
      const body = { ...heartbeatBody('dev-a', new Date(now)), ...patch };
      const res = await post(signedHeartbeat(secretA, body as never, { timestamp: Math.floor(now / 1000) }));
      assert.equal(res.status, 200, await res.clone().text());
      const [health] = await fleet.db.sql`SELECT ${fleet.db.sql(column)} AS v FROM device_health`;
      const [history] = await fleet.db.sql`SELECT ${fleet.db.sql(column)} AS v FROM device_heartbeats`;
      assert.deepEqual([health!.v, history!.v], [stored, stored]);
    });
  }
  const refused: [string, Record<string, unknown>, string][] = [
    [
      'pending_captures 1e-50',
      { outbox: { ...outbox, pending_captures: 1e-50 } },
      '/outbox/pending_captures',
    ],
    [
      'oldest_pending_age_s 5e-324',
      { outbox: { ...outbox, oldest_pending_age_s: 5e-324 } },
      '/outbox/oldest_pending_age_s',
    ],
    ['uptime_s 1e-50', { uptime_s: 1e-50 }, '/uptime_s'],
    ['system_uptime_s 1e300', { system_uptime_s: 1e300 }, '/system_uptime_s'],
    ['disk floor_bytes 1e-50', { disk: { free_bytes: 1, floor_bytes: 1e-50 } }, '/disk/floor_bytes'],
    [
      'frame_rate_fps -1e-50',
      { probe: { connected: true, frame_rate_fps: -1e-50 } },
      '/probe/frame_rate_fps',
    ],
    ['captures_by_result 1e-50', { captures_by_result: { captured: 1e-50 } }, '/captures_by_result/captured'],
  ];
  for (const [name, patch, pointer] of refused) {
    test(`${name}: 422 at ${pointer}`, async () => {
      const body = { ...heartbeatBody('dev-a', new Date(now)), ...patch };
      const res = await post(signedHeartbeat(secretA, body as never, { timestamp: Math.floor(now / 1000) }));
      const answer = (await res.json()) as { problems?: { pointer: string }[] };
      assert.equal(res.status, 422, JSON.stringify(answer));
      assert.deepEqual(
        answer.problems?.map((p) => p.pointer),
        [pointer],
      );
      assert.equal((await state()).health, 0);
    });
  }
});

describe('what a heartbeat stores is bounded by the schema (review r11 F11)', () => {
  test('unknown fields are dropped, not refused: a newer agent is still heard, but 20 KB of padding is not kept', async () => {
    const body = {
      ...heartbeatBody('dev-a', new Date(now)),
      padding: 'x'.repeat(20_000),
      outbox: { pending_captures: 2, pending_bytes: 10, oldest_pending_age_s: 5, quarantined: 0, later: 'y' },
      models: [{ name: 'ribeye-hint', version: '2.3.0', extra: 'z'.repeat(500) }],
    };
    const res = await post(signedHeartbeat(secretA, body, { timestamp: Math.floor(now / 1000) }));
    assert.equal(res.status, 200, await res.clone().text());
    const expected = {
      ...heartbeatBody('dev-a', new Date(now)),
      outbox: { pending_captures: 2, pending_bytes: 10, oldest_pending_age_s: 5, quarantined: 0 },
    };
    const [health] = await fleet.db.sql`SELECT body, models FROM device_health`;
    const [history] = await fleet.db.sql`SELECT body FROM device_heartbeats`;
    assert.deepEqual(health!.body, expected);
    assert.deepEqual(history!.body, expected);
    assert.deepEqual(health!.models, [{ name: 'ribeye-hint', version: '2.3.0' }]);
  });

  test('a body at every bound of the schema is accepted; over 24 KiB is a 413', async () => {
    const label = (c: string) => c.repeat(128);
    const widest = heartbeatBody('dev-a', new Date(now), {
      agent_version: label('a'),
      models: Array.from({ length: 16 }, () => ({ name: label('n'), version: label('v') })),
      health: { ok: false, reason: '\u0001'.repeat(1000) },
      last_error: { at: new Date(now).toISOString(), message: '\u0001'.repeat(1000), source: label('s') },
      captures_by_result: Object.fromEntries(
        Array.from({ length: 32 }, (_, i) => [`r${String(i).padStart(2, '0')}${'x'.repeat(61)}`, 2147483647]),
      ),
    });
    const init = signedHeartbeat(secretA, widest, { timestamp: Math.floor(now / 1000) });
    assert.ok(init.body.length > 19_000, String(init.body.length));
    const res = await post(init);
    assert.equal(res.status, 200, await res.clone().text());
    now += 1000;
    const over = heartbeatBody('dev-a', new Date(now), { padding: 'x'.repeat(24 * 1024) } as never);
    const refused = await post(signedHeartbeat(secretA, over, { timestamp: Math.floor(now / 1000) }));
    assert.equal(refused.status, 413);
    assert.equal(((await refused.json()) as { error: string }).error, 'body_too_large');
    assert.equal((await state()).heartbeats, 1);
  });
});

describe('key rotation', () => {
  test('during the overlap both keys work; the first use of the new key retires the old one', async () => {
    const { secret: next } = await rotateDeviceKey(fleet.db.sql, 'dev-a', 3600);
    assert.equal((await beat(secretA, 'dev-a')).status, 200, 'old key inside the overlap');
    now += 1000;
    assert.equal((await beat(next, 'dev-a')).status, 200, 'new key');
    now += 1000;
    const res = await beat(secretA, 'dev-a');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'bad_signature');
    assert.equal((await beat(next, 'dev-a')).status, 200);
  });

  test('an old key not replaced in time stops at the end of the overlap', async () => {
    await rotateDeviceKey(fleet.db.sql, 'dev-a', 60);
    assert.equal((await beat(secretA, 'dev-a')).status, 200);
    // 61 s later, by the database's clock (which set the expiry and judges it) and the Pi's.
    await fleet.db
      .sql`UPDATE device_keys SET expires_at = expires_at - interval '61 seconds' WHERE expires_at IS NOT NULL`;
    now += 61_000;
    assert.equal((await beat(secretA, 'dev-a')).status, 401);
    assert.equal((await lastRejection())?.error_code, 'bad_signature');
  });

  test('--overlap 0 revokes at once (a stolen Pi)', async () => {
    const { secret: next } = await rotateDeviceKey(fleet.db.sql, 'dev-a', 0);
    assert.equal((await beat(secretA, 'dev-a')).status, 401);
    assert.equal((await beat(next, 'dev-a')).status, 200);
    assert.equal((await beat(secretB, 'dev-b')).status, 200, 'other devices are not affected');
  });

  test("a revoked key is refused by a replica whose clock is behind: expiry is on the database's clock (review r13 F7)", async () => {
    const behind = createTestApp(fleet.db.sql, {}, { clock: () => Date.now() - 20_000 });
    try {
      const { secret: next } = await rotateDeviceKey(fleet.db.sql, 'dev-a', 0);
      const sent = (secret: string) =>
        behind.app.request(
          '/devices/heartbeat',
          signedHeartbeat(secret, heartbeatBody('dev-a', new Date(now)), {
            timestamp: Math.floor(now / 1000),
          }),
        );
      const stolen = await sent(secretA);
      assert.equal(stolen.status, 401, await stolen.clone().text());
      assert.equal(((await stolen.json()) as { error: string }).error, 'bad_signature');
      assert.equal((await sent(next)).status, 200);
    } finally {
      await behind.close();
    }
  });
});

describe('health episodes raise one notification per episode', () => {
  test('disk low: admins and technicians once; again only after it was clearly over', async () => {
    const id = await deviceId('dev-a');
    const key = (since: Date) => `device_disk_low:${id}:${since.toISOString()}`;
    const lowAt = await receivedAt(await beat(secretA, 'dev-a', { disk: { free_bytes: 300 * MB } }));
    for (let i = 0; i < 3; i++) {
      now += 60_000;
      await beat(secretA, 'dev-a', { disk: { free_bytes: 1050 * MB } }); // above the limit, within the 10 %
    }
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_disk_low'), [
      `admin@fleet.test ${key(lowAt)}`,
      `technician@fleet.test ${key(lowAt)}`,
    ]);
    now += 60_000;
    await beat(secretA, 'dev-a', { disk: { free_bytes: 5000 * MB } });
    const [open] = await fleet.db.sql`SELECT disk_low_since FROM device_health`;
    assert.equal(open!.disk_low_since, null, 'episode over');
    now += 60_000;
    const againAt = await receivedAt(await beat(secretA, 'dev-a', { disk: { free_bytes: 100 * MB } }));
    assert.equal((await notificationsOf(fleet.db.sql, 'device_disk_low')).length, 4);
    assert.ok(
      (await notificationsOf(fleet.db.sql, 'device_disk_low')).includes(`admin@fleet.test ${key(againAt)}`),
    );
    const [payload] = await fleet.db
      .sql`SELECT payload FROM notifications WHERE type = 'device_disk_low' ORDER BY id LIMIT 1`;
    assert.deepEqual(payload!.payload, {
      device_id: await deviceId('dev-a'),
      device_code: 'dev-a',
      label: 'North barn',
      since: lowAt.toISOString(),
      free_bytes: 300 * MB,
      floor_bytes: 200 * MB,
      limit_bytes: 1024 * MB,
    });
  });

  test('backlog and clock episodes, each once however many heartbeats show them', async () => {
    for (let i = 0; i < 3; i++) {
      await beat(secretA, 'dev-a', {
        outbox: { pending_captures: 120, pending_bytes: 9e8, oldest_pending_age_s: 4000, quarantined: 0 },
        clock: { synced: false, source: 'unsynchronized', offset_ms: null },
      });
      now += 60_000;
    }
    assert.equal((await notificationsOf(fleet.db.sql, 'device_backlog')).length, 2);
    assert.equal((await notificationsOf(fleet.db.sql, 'device_clock_unsynced')).length, 2);
    assert.equal((await notificationsOf(fleet.db.sql, 'device_disk_low')).length, 0);
  });

  test('a reboot: the first heartbeats before NTP syncs start no clock episode; still unsynced 10 min after boot, one (review r11 F9)', async () => {
    // The reviewer's t15: the agent's start-up heartbeat (system up 21 s, timesyncd not synced yet),
    // then one 60 ms later, synced. On main that notified every admin and technician.
    const booting = (systemUptime: number, synced: boolean) =>
      beat(secretA, 'dev-a', {
        uptime_s: 4,
        system_uptime_s: systemUptime,
        clock: synced
          ? { synced: true, source: 'timesyncd', offset_ms: 3 }
          : { synced: false, source: 'unsynchronized', offset_ms: 40 },
      });
    assert.equal((await booting(21, false)).status, 200);
    now += 60;
    assert.equal((await booting(21, true)).status, 200);
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_clock_unsynced'), []);

    // A Pi with no NTP server it can reach: told once the boot grace (CLOCK_SYNC_BOOT_GRACE_S) is over.
    now += 60_000;
    assert.equal((await booting(300, false)).status, 200);
    assert.deepEqual(await notificationsOf(fleet.db.sql, 'device_clock_unsynced'), []);
    now += 60_000;
    const at = await receivedAt(await booting(CLOCK_SYNC_BOOT_GRACE_S, false));
    assert.equal((await notificationsOf(fleet.db.sql, 'device_clock_unsynced')).length, 2);
    const [row] = await fleet.db.sql`SELECT clock_unsynced_since FROM device_health`;
    assert.deepEqual(row!.clock_unsynced_since, at);
  });

  test('a clock the device believes synced but that is minutes off is unsynced (server-measured skew)', async () => {
    const sentAt = new Date(now + 120_000);
    const body = heartbeatBody('dev-b', sentAt, {
      clock: { synced: true, source: 'kernel', offset_ms: null },
    });
    const res = await post(signedHeartbeat(secretB, body, { timestamp: Math.floor(now / 1000) + 120 }));
    const at = await receivedAt(res);
    const [row] = await fleet.db.sql`SELECT clock_skew_ms, clock_unsynced_since FROM device_health`;
    // Against the database's time it was received at (this test's clock is that clock, read a little earlier).
    assert.equal(row!.clock_skew_ms, sentAt.getTime() - at.getTime());
    assert.ok(Math.abs(row!.clock_skew_ms - 120_000) < 1000, String(row!.clock_skew_ms));
    assert.deepEqual(row!.clock_unsynced_since, at);
  });
});

describe('/metrics: per-device gauges from the latest snapshots', () => {
  test('every device that sent a heartbeat has its series', async () => {
    await beat(secretA, 'dev-a', {
      outbox: { pending_captures: 7, pending_bytes: 1234, oldest_pending_age_s: 300, quarantined: 2 },
    });
    await beat(secretB, 'dev-b', {
      probe: { connected: false, frame_rate_fps: 0 },
      disk: { free_bytes: 20_000 * MB, floor_bytes: 200 * MB, free_inodes: 10 },
    });
    const text = await (await fleet.server.app.request('/metrics')).text();
    // Free inodes: dev-b's card is out of them; dev-a's heartbeat does not say (a file system that does
    // not count inodes, or an older agent): no sample rather than a 0 an alert would take for empty.
    assert.ok(text.includes('cti_device_disk_free_inodes{device="dev-b"} 10'), text);
    assert.doesNotMatch(text, /cti_device_disk_free_inodes\{device="dev-a"\}/);
    for (const line of [
      'cti_device_outbox_pending_captures{device="dev-a"} 7',
      'cti_device_outbox_pending_bytes{device="dev-a"} 1234',
      'cti_device_outbox_oldest_pending_age_seconds{device="dev-a"} 300',
      'cti_device_outbox_quarantined_captures{device="dev-a"} 2',
      'cti_device_probe_connected{device="dev-b"} 0',
      'cti_device_probe_connected{device="dev-a"} 1',
      `cti_device_disk_free_bytes{device="dev-a"} ${20_000 * MB}`,
      'cti_device_clock_synced{device="dev-a"} 1',
      'cti_device_silent{device="dev-a"} 0',
      'cti_device_info{device="dev-a",agent_version="0.1.0"} 1',
      'cti_device_heartbeats_total{outcome="accepted",reason="ok"}',
    ]) {
      assert.ok(text.includes(line), `${line}\n${text}`);
    }
  });
});

async function deviceId(code: string): Promise<string> {
  const [row] = await fleet.db.sql<{ id: string }[]>`SELECT id FROM devices WHERE device_code = ${code}`;
  return row!.id;
}

describe('per-device rate limit (CTI_DEVICE_HEARTBEATS_PER_MINUTE)', () => {
  test('the default bound is documented and on', () => {
    assert.equal(testConfig().devices.heartbeatsPerMinute, 120);
  });

  test('past the bound in a minute: 429 with Retry-After, nothing written; other devices unaffected; the window moves on', async () => {
    const app = createTestApp(
      fleet.db.sql,
      { devices: { ...testConfig().devices, heartbeatsPerMinute: 3 } },
      { clock: () => now },
    );
    const send = (secret: string, code: string, at: number) =>
      app.app.request(
        '/devices/heartbeat',
        signedHeartbeat(secret, heartbeatBody(code, new Date(at)), { timestamp: Math.floor(at / 1000) }),
      );
    try {
      // Three received 10, 9 and 8 s ago (on the database's clock, which the window is judged on).
      const start = now;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        now = start + i * 1000;
        const res = await send(secretA, 'dev-a', now);
        assert.equal(res.status, 200);
        ids.push(((await res.json()) as { heartbeat_id: string }).heartbeat_id);
      }
      for (const [i, id] of ids.entries()) await backdateHeartbeat(fleet.db.sql, id, 10 - i);
      const before = await state();
      now = start + 10_000;
      const refused = await send(secretA, 'dev-a', now);
      assert.equal(refused.status, 429);
      // The oldest of the three (10 s ago) leaves the window 50 s from now.
      assert.equal(refused.headers.get('retry-after'), '50');
      const body = (await refused.json()) as { error: string; message: string };
      assert.equal(body.error, 'rate_limited');
      assert.match(body.message, /3 heartbeats per minute/);
      assert.match(body.message, /CTI_DEVICE_HEARTBEATS_PER_MINUTE/);
      assert.deepEqual(await state(), before, 'nothing written, not even a rejection row');
      assert.equal((await send(secretB, 'dev-b', now)).status, 200, 'another device is not limited');
      for (const id of ids) await backdateHeartbeat(fleet.db.sql, id, 51); // 51 s later
      now = start + 61_000;
      assert.equal((await send(secretA, 'dev-a', now)).status, 200, 'the oldest left the window');
      const counted = (await app.metrics.deviceHeartbeats.get()).values.find(
        (v) => v.labels.reason === 'rate_limited',
      );
      assert.deepEqual([counted?.labels.outcome, counted?.value], ['rejected', 1]);
    } finally {
      await app.close();
    }
  });
});
