// End to end: the spawned cti-agent heartbeats to the spawned cti-server on a real migrated Postgres.
// Rows, notifications once per episode (backlog, disk, silence across restarts), key rotation, and the
// refused requests (rotated-out key, unknown device, replayed old timestamp).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDeviceSecret, signDeviceRequest } from '@cti/contracts';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import {
  fetchAgentStatus,
  runAgentCommand,
  runServerCommand,
  type Spawned,
  startAgent,
  startServer,
} from '../test-support/fleet-processes.ts';

const DEVICE = 'dev-e2e';
let db: TestDatabase;
let server: Spawned & { url: string };
let dir: string;
let configFile: string;
let secretFile: string;
let agent: Spawned | undefined;
let firstSecret: string;

before(async () => {
  db = await createTestDatabase();
  for (const role of ['admin', 'technician', 'farmer']) {
    const [user] = await db.sql<
      { id: string }[]
    >`INSERT INTO users (email) VALUES (${`${role}@e2e.test`}) RETURNING id`;
    await db.sql`INSERT INTO user_roles (user_id, role_id) SELECT ${user!.id}, id FROM roles WHERE name = ${role}`;
  }
  const added = await runServerCommand(['device', 'add', DEVICE, '--label', 'E2E Pi'], {
    DATABASE_URL: db.url,
  });
  assert.equal(added.code, 0, added.stderr);
  firstSecret = added.stdout;
  dir = mkdtempSync(join(tmpdir(), 'cti-hb-e2e-'));
  secretFile = join(dir, 'device-secret');
  installSecret(firstSecret);
  server = await startServer({
    DATABASE_URL: db.url,
    CTI_WEBHOOK_SECRETS: 'unused-in-this-test-0123456789',
    CTI_S3_BUCKETS: 'cti-test',
    CTI_DEVICE_SILENT_AFTER_S: '4', // heartbeats come every second
    CTI_DEVICE_CHECK_INTERVAL_S: '1',
    // The silence hysteresis (default 1 h): a device back for less than this and quiet again is told
    // only once quiet for longer than it — 6 s here, so the second silence below comes after ≈ 6 s.
    CTI_DEVICE_SILENT_RENOTIFY_S: '6',
    CTI_DEVICE_BACKLOG_CAPTURES: '1',
    CTI_DEVICE_DISK_LOW_MB: String(16 * 1024 * 1024), // 16 TiB: this machine's disk is "low"
  });
  configFile = join(dir, 'agent.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      device_code: DEVICE,
      data_dir: join(dir, 'data'),
      source: { kind: 'simulated', fps: 10, width: 256, height: 192, pattern: 'synthetic' },
      hint: { enabled: false },
      http: { port: 0 },
      upload: { bucket: 'cti-test', enabled: false }, // captures stay pending: a backlog
      outbox: { min_free_mb: 1 },
      heartbeat: { server_url: server.url, interval_s: 1, timeout_s: 3, secret_file: secretFile },
    }),
  );
});

after(async () => {
  await agent?.stop();
  await server?.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function installSecret(secret: string) {
  writeFileSync(secretFile, secret);
  chmodSync(secretFile, 0o600);
}

const health = async () => {
  const [row] = await db.sql`
    SELECT h.*, d.last_seen_at FROM device_health h JOIN devices d ON d.id = h.device_id
    WHERE d.device_code = ${DEVICE}`;
  return row;
};
const notifications = async (type: string) => {
  const rows = await db.sql<{ email: string; dedupe_key: string }[]>`
    SELECT u.email, n.dedupe_key FROM notifications n JOIN users u ON u.id = n.user_id
    WHERE n.type = ${type} ORDER BY n.id`;
  return rows.map((r) => `${r.email.split('@')[0]} ${r.dedupe_key.split(':').slice(2).join(':')}`);
};
const agentStatus = () => fetchAgentStatus(join(dir, 'data'));

describe('heartbeat: spawned agent → spawned server → Postgres', () => {
  test('start-up heartbeat, then every interval: snapshot, history, last_seen_at; status says accepted', {
    timeout: 90_000,
  }, async () => {
    agent = await startAgent(configFile, join(dir, 'data'));
    await waitFor(health, { what: 'the start-up heartbeat recorded', timeoutMs: 20_000 });
    const captured = await runAgentCommand(configFile, ['capture']);
    assert.equal(captured.code, 0, captured.stdout);
    const since = Number((await health())!.heartbeats_total);
    await waitFor(async () => Number((await health())!.heartbeats_total) >= since + 2, {
      what: 'two heartbeats after the capture',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const row = (await health())!;
    assert.equal(row.agent_version, '0.1.0');
    assert.equal(row.probe_connected, true);
    assert.equal(row.probe_kind, 'simulated');
    // Frames flow at the source's rate or below (a loaded machine delays the simulated probe's timer).
    assert.ok(row.frame_rate_fps > 0 && row.frame_rate_fps < 15, `frame rate ${row.frame_rate_fps}`);
    assert.equal(row.pending_captures, 1, 'the capture waits (uploads are off)');
    assert.ok(Number(row.pending_bytes) > 0);
    assert.ok(Number(row.disk_free_bytes) > 0);
    assert.ok(row.last_capture_at instanceof Date);
    assert.equal(typeof row.clock_synced, 'boolean');
    assert.ok(Math.abs(row.clock_skew_ms) < 5000);
    assert.notEqual(row.clock_offset_ms, null, 'measured on the previous round trip');
    assert.deepEqual(row.last_seen_at, row.received_at);
    // Capture attempts by result since the agent started, stored with the snapshot (device_health.body).
    assert.deepEqual(row.body.captures_by_result, { captured: 1 });
    const [history] = await db.sql`SELECT count(*)::int AS n FROM device_heartbeats`;
    assert.ok(history!.n >= 3);

    const status = JSON.parse((await runAgentCommand(configFile, ['status'])).stdout); // what an operator sees
    assert.equal(status.heartbeat.enabled, true);
    assert.equal(status.heartbeat.last.accepted, true);
    assert.equal(status.heartbeat.last.http_status, 200);
    assert.equal(status.heartbeat.key, parseDeviceSecret(firstSecret).fingerprint);

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`cti_device_outbox_pending_captures\\{device="${DEVICE}"\\} 1`));
    assert.match(metrics, new RegExp(`cti_device_probe_connected\\{device="${DEVICE}"\\} 1`));
  });

  test('backlog and low disk: admins and technicians told once per episode, however many heartbeats', async () => {
    const backlog = await notifications('device_backlog');
    const disk = await notifications('device_disk_low');
    assert.deepEqual(backlog.map((n) => n.split(' ')[0]).sort(), ['admin', 'technician']);
    assert.deepEqual(disk.map((n) => n.split(' ')[0]).sort(), ['admin', 'technician']);
    // The clock episode depends on this machine's NTP state; whatever it is, at most once.
    assert.ok([0, 2].includes((await notifications('device_clock_unsynced')).length));
  });

  test('stopped: device_silent once; a restart ends the episode, the next silence is a new one', {
    timeout: 90_000,
  }, async () => {
    assert.equal(await agent!.stop(), 0);
    const firstSilence = await waitFor(
      async () =>
        (await notifications('device_silent')).length === 2 ? notifications('device_silent') : undefined,
      {
        what: `device_silent notifications; server output: ${server.output().slice(-3000)}`,
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    );
    await new Promise((r) => setTimeout(r, 2500)); // more fleet checks pass: nothing new
    assert.deepEqual(await notifications('device_silent'), firstSilence);

    agent = await startAgent(configFile, join(dir, 'data'));
    await waitFor(async () => (await health())!.silent_since === null, {
      what: 'episode ended by a heartbeat',
      timeoutMs: 20_000,
    });
    assert.equal(
      (await notifications('device_backlog')).length,
      2,
      'the backlog continued across the restart: same episode',
    );
    assert.equal(await agent.stop(), 0);
    await waitFor(async () => (await notifications('device_silent')).length === 4, {
      what: 'second silence',
      timeoutMs: 20_000,
      intervalMs: 250,
    });
  });

  test('rotation: an agent still holding the revoked key is refused (401 + a log row), the new key is accepted', {
    timeout: 90_000,
  }, async () => {
    const rotated = await runServerCommand(['device', 'rotate-secret', DEVICE, '--overlap', '0'], {
      DATABASE_URL: db.url,
    });
    assert.equal(rotated.code, 0, rotated.stderr);
    const heardBefore = (await health())!.received_at;
    agent = await startAgent(configFile, join(dir, 'data'));
    const status = await waitFor(
      async () => ((await agentStatus()).heartbeat.last ? agentStatus() : undefined),
      { what: 'a heartbeat attempt' },
    );
    assert.equal(status.heartbeat.last.accepted, false);
    assert.equal(status.heartbeat.last.http_status, 401);
    assert.match(status.heartbeat.last.error, /^bad_signature: /);
    const [rejection] =
      await db.sql`SELECT device_code, http_status, error_code FROM device_request_rejections ORDER BY id DESC LIMIT 1`;
    assert.deepEqual(rejection, { device_code: DEVICE, http_status: 401, error_code: 'bad_signature' });
    assert.deepEqual((await health())!.received_at, heardBefore, 'nothing else recorded');
    const doctor = await runAgentCommand(configFile, ['doctor']);
    assert.match(
      doctor.stdout,
      /\[FAIL\] heartbeat\s+last one \(.*\) not accepted: bad_signature: .*\n\s+fix: the installed secret is not a current key of dev-e2e/,
    );
    await agent.stop();

    installSecret(rotated.stdout);
    agent = await startAgent(configFile, join(dir, 'data'));
    await waitFor(async () => (await agentStatus()).heartbeat.last?.accepted === true, {
      what: 'accepted with the new key',
      timeoutMs: 20_000,
    });
    assert.match(
      (await runAgentCommand(configFile, ['doctor'])).stdout,
      /\[ OK \] heartbeat\s+last one accepted at .* by http:\/\/127\.0\.0\.1:\d+\/devices\/heartbeat/,
    );
    await agent.stop();
    agent = undefined;
  });

  test('an unknown device and a replayed old timestamp are refused by the running server', async () => {
    const key = parseDeviceSecret(
      (await runServerCommand(['device', 'add', 'dev-other'], { DATABASE_URL: db.url })).stdout,
    );
    const send = (body: string, deviceCode: string, timestamp: number) =>
      fetch(`${server.url}/devices/heartbeat`, {
        method: 'POST',
        body,
        headers: {
          ...signDeviceRequest({ body, deviceCode, privateKey: key.privateKey, timestamp }),
          'content-type': 'application/json',
        },
      });
    const body = JSON.stringify({ device_code: 'dev-ghost' });
    const unknown = await send(body, 'dev-ghost', Math.floor(Date.now() / 1000));
    assert.equal(unknown.status, 401);
    assert.equal(((await unknown.json()) as { error: string }).error, 'unknown_device');
    const old = await send(
      JSON.stringify({ device_code: 'dev-other' }),
      'dev-other',
      Math.floor(Date.now() / 1000) - 3600,
    );
    assert.equal(old.status, 401);
    assert.equal(((await old.json()) as { error: string }).error, 'stale_timestamp');
    const codes =
      await db.sql`SELECT device_code, error_code FROM device_request_rejections ORDER BY id DESC LIMIT 2`;
    assert.deepEqual(codes.map((r) => `${r.device_code} ${r.error_code}`).sort(), [
      'dev-ghost unknown_device',
      'dev-other stale_timestamp',
    ]);
    const [other] =
      await db.sql`SELECT count(*)::int AS n FROM device_health h JOIN devices d ON d.id = h.device_id WHERE d.device_code = 'dev-other'`;
    assert.equal(other!.n, 0);
  });
});
