import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  createDeviceKey,
  type HeartbeatBody,
  parseDeviceSecret,
  validateHeartbeat,
  verifyDeviceSignature,
} from '@cti/contracts';
import { waitFor } from '@cti/testkit';
import { createHeartbeatSender } from './heartbeat-sender.ts';

// The sender against a real HTTP server that checks signatures the way cti-server does (contracts'
// verifyDeviceSignature with the device's public key) and can be slow, refuse, or be gone.

const key = createDeviceKey('dev-hb');
const secret = parseDeviceSecret(key.secret);
type Mode = 'accept' | 'refuse' | 'slow' | 'limit';
let mode: Mode = 'accept';
let serverClockAhead = 0;
/** Each request as the server saw it, with the server time it answered (accepted answers only). */
const received: { body: HeartbeatBody; verified: boolean; serverTimeMs?: number }[] = [];
let server: Server;
let url: string;

const readAll = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

before(async () => {
  server = createServer(async (req, res) => {
    const raw = await readAll(req);
    const verified = verifyDeviceSignature({
      body: raw,
      timestamp: req.headers['x-cti-timestamp'] as string,
      signature: req.headers['x-cti-signature'] as string,
      publicKeys: [key.publicKey],
    }).ok;
    const body = JSON.parse(raw.toString()) as HeartbeatBody;
    const request: (typeof received)[number] = { body, verified };
    received.push(request);
    if (mode === 'slow') await new Promise((r) => setTimeout(r, 1500));
    res.setHeader('content-type', 'application/json');
    if (mode === 'limit') {
      res.statusCode = 429;
      res.setHeader('retry-after', '30');
      res.end(JSON.stringify({ error: 'rate_limited', message: 'more than 120 heartbeats per minute' }));
      return;
    }
    if (mode === 'refuse') {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: 'bad_signature', message: 'no current key matches' }));
      return;
    }
    request.serverTimeMs = Date.now() + serverClockAhead;
    res.end(JSON.stringify({ accepted: true, server_time_ms: request.serverTimeMs }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devices/heartbeat`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

let state = 0;
const body = ({ clockOffsetMs }: { clockOffsetMs: number | null }): HeartbeatBody => {
  state += 1;
  return {
    heartbeat_version: '1.0.0',
    device_code: 'dev-hb',
    sent_at: new Date().toISOString(),
    agent_version: '0.1.0',
    uptime_s: state,
    outbox: { pending_captures: state, pending_bytes: 0, oldest_pending_age_s: null, quarantined: 0 },
    disk: { free_bytes: 1 },
    clock: { synced: true, offset_ms: clockOffsetMs },
    probe: { connected: true },
  };
};

describe('heartbeat sender', () => {
  test('on start and every interval, signed, valid, built afresh each time; offset measured', {
    timeout: 20_000,
  }, async () => {
    received.length = 0;
    serverClockAhead = 5000;
    // The device's clock readings: each attempt reads it when it starts and when it is answered.
    const readings: number[] = [];
    const wallClock = () => {
      const t = Date.now();
      readings.push(t);
      return t;
    };
    const sender = createHeartbeatSender({
      url,
      intervalMs: 200,
      timeoutMs: 10_000,
      secret,
      body,
      wallClock,
    });
    sender.start();
    await waitFor(() => received.length >= 3, { what: 'three heartbeats' });
    await sender.stop();
    assert.ok(received.every((r) => r.verified && validateHeartbeat(r.body).ok));
    const states = received.map((r) => r.body.outbox.pending_captures);
    assert.deepEqual(
      states,
      [...states].sort((a, b) => a - b),
      'each carries the state of its own moment',
    );
    assert.equal(new Set(states).size, states.length);
    assert.equal(received[0]!.body.clock.offset_ms, null, 'no measurement before the first answer');
    // Attempts never overlap, so attempt i read the clock at readings[2i] and [2i + 1]. The offset
    // heartbeat 2 carries is the midpoint of attempt 1's round trip minus the server time it was
    // answered with (a server 5 s ahead = this clock 5 s behind). Asserted exactly: a bound such
    // as "within 100 ms of -5000" only holds while the round trip stays under 200 ms, which a
    // loaded machine does not promise.
    const [started, ended] = [readings[2]!, readings[3]!];
    const expected = Math.round((started + ended) / 2 - received[1]!.serverTimeMs!);
    assert.equal(received[2]!.body.clock.offset_ms, expected);
    assert.ok(
      Math.abs(expected + 5000) <= (ended - started) / 2 + 1,
      `${expected} is 5 s behind, ± half the round trip`,
    );
    const status = sender.status();
    assert.equal(status.last?.accepted, true);
    assert.equal(status.last?.http_status, 200);
    assert.equal(status.accepted, status.sent);
    assert.equal(status.key, key.fingerprint);
    serverClockAhead = 0;
  });

  test('offline: each attempt is dropped, never queued; the first one back carries the current state', {
    timeout: 20_000,
  }, async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/devices/heartbeat`;
    await new Promise<void>((resolve) => dead.close(() => resolve())); // nothing listens there now
    const sender = createHeartbeatSender({ url: deadUrl, intervalMs: 60_000, timeoutMs: 1000, secret, body });
    for (let i = 0; i < 3; i++) await sender.sendNow();
    const offline = sender.status();
    assert.equal(offline.last?.accepted, false);
    assert.equal(offline.last?.http_status, null);
    assert.match(offline.last?.error ?? '', /^network: ECONNREFUSED/);
    assert.deepEqual([offline.sent, offline.failed, offline.accepted], [3, 3, 0]);
    await sender.stop();
    // Back online (the real server): exactly one request for one attempt, with the state of now.
    received.length = 0;
    const online = createHeartbeatSender({ url, intervalMs: 60_000, timeoutMs: 1000, secret, body });
    const before = state;
    await online.sendNow();
    assert.equal(received.length, 1, 'the failed ones were not resent');
    assert.equal(received[0]!.body.uptime_s, before + 1);
  });

  test("refused by the server: not accepted, with the server's reason", { timeout: 20_000 }, async () => {
    mode = 'refuse';
    const sender = createHeartbeatSender({ url, intervalMs: 60_000, timeoutMs: 1000, secret, body });
    await sender.sendNow();
    mode = 'accept';
    assert.deepEqual(
      { ...sender.status().last, at: undefined, ms: undefined },
      {
        at: undefined,
        ms: undefined,
        accepted: false,
        http_status: 401,
        error: 'bad_signature: no current key matches',
      },
    );
    await sender.sendNow();
    assert.equal(sender.status().last?.accepted, true);
    assert.ok(sender.status().last_accepted_at);
  });

  test('a slow server: the attempt times out; a tick while one is in flight is skipped', {
    timeout: 20_000,
  }, async () => {
    mode = 'slow';
    received.length = 0;
    const sender = createHeartbeatSender({ url, intervalMs: 100, timeoutMs: 500, secret, body });
    sender.start();
    await waitFor(() => sender.status().failed >= 1, { what: 'a timed-out attempt' });
    await sender.stop();
    mode = 'accept';
    const status = sender.status();
    assert.match(status.last?.error ?? '', /^network: no answer within 500 ms/);
    assert.ok(status.skipped >= 2, `ticks during the attempt skipped (${status.skipped})`);
    assert.equal(status.sent, status.failed + status.accepted);
  });
});

describe('heartbeat sender and a server that says "later"', () => {
  /** A sender whose wall and monotonic clocks the test moves by hand (`clock.wall`, `clock.mono`). */
  const senderOnTestClocks = () => {
    const clock = { wall: Date.now(), mono: 1_000 };
    const sender = createHeartbeatSender({
      url,
      intervalMs: 60_000,
      timeoutMs: 3000,
      secret,
      body,
      wallClock: () => clock.wall,
      monotonicClock: () => clock.mono,
    });
    return { sender, clock };
  };

  test('429 with Retry-After: no request until then (attempts due meanwhile are deferred), the clock offset is kept, then it sends again', async () => {
    const { sender, clock } = senderOnTestClocks();
    mode = 'accept';
    await sender.sendNow();
    const offset = sender.status().clock_offset_ms;
    assert.notEqual(offset, null);
    const before = received.length;
    mode = 'limit';
    await sender.sendNow();
    assert.equal(received.length, before + 1);
    assert.equal(sender.status().last?.http_status, 429);
    assert.equal(sender.status().deferred_until, new Date(clock.wall + 30_000).toISOString());
    for (let i = 0; i < 5; i++) {
      clock.wall += 5000;
      clock.mono += 5000;
      await sender.sendNow();
    }
    assert.equal(received.length, before + 1, 'nothing sent before Retry-After');
    assert.equal(sender.status().deferred, 5);
    assert.equal(sender.status().clock_offset_ms, offset, 'the offset measured before is kept');
    mode = 'accept';
    clock.wall += 5000; // 30 s after the refusal
    clock.mono += 5000;
    await sender.sendNow();
    assert.equal(received.length, before + 2);
    assert.equal(sender.status().last?.accepted, true);
    assert.equal(sender.status().deferred_until, null);
    await sender.stop();
  });

  test('the wall clock stepping back (NTP correcting a clock that ran ahead) does not stretch Retry-After: the wait is measured on the monotonic clock', async () => {
    const { sender, clock } = senderOnTestClocks();
    mode = 'limit';
    await sender.sendNow();
    const before = received.length;
    clock.wall -= 24 * 3600_000; // the clock is put back a day
    clock.mono += 10_000;
    await sender.sendNow();
    assert.equal(received.length, before, 'still within Retry-After');
    assert.equal(
      sender.status().deferred_until,
      new Date(clock.wall + 20_000).toISOString(),
      'said in the wall clock of now',
    );
    mode = 'accept';
    clock.mono += 20_000; // 30 s after the refusal
    await sender.sendNow();
    assert.equal(received.length, before + 1, 'sent 30 s after the 429, not a day later');
    assert.equal(sender.status().last?.accepted, true);
    await sender.stop();
  });
});
