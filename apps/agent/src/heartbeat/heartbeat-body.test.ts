import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateHeartbeat } from '@cti/contracts';
import { silentLogger } from '@cti/runtime';
import type { Agent } from '../agent.ts';
import { loadedModels, loadHint } from '../capture/hint.ts';
import { createHeartbeatBody } from './heartbeat-body.ts';

type Status = ReturnType<Agent['status']>;
const T = Date.UTC(2026, 11, 5, 10, 0, 0);

function status(frames: number, errors: { capture?: string; upload?: number } = {}): Status {
  return {
    device_code: 'dev-0001',
    health: { ok: false, reason: 'disk below the floor', restartable: false },
    source: {
      kind: 'serial',
      connected: true,
      frames,
      droppedFrames: 0,
      lastFrameAt: 1,
      detail: {},
      identity: { model: 'Convex-3.5MHz' },
    },
    clock: { synced: false, source: 'unsynchronized' },
    disk: { free_bytes: 150_000_000, free_inodes: 480_211, floor_bytes: 209_715_200 },
    outbox: {
      pendingCaptures: 2,
      pendingBytes: 2_000_000,
      oldestPendingAgeMs: 95_500,
      lastSuccessAt: T - 60_000,
      lastError:
        errors.upload === undefined
          ? null
          : { at: errors.upload, message: 'image.png: ETIMEDOUT', captureId: 'cap_x' },
      quarantined: 0,
      discarded: 1,
      uploadedTotal: 10,
    },
    last_error: errors.capture ? { at: errors.capture, message: 'EIO writing the spool' } : null,
    captures: {
      captured: 3,
      refused: 2,
      failed: 0,
      busy: 0,
      pending: 0,
      by_result: { captured: 3, not_a_ribeye_view: 2 },
    },
    ear_tag_reader: {
      path: '/dev/cti-eid',
      connected: false,
      ignored_lines: 0,
      reads: 0,
      last_read_at: null,
      pending: null,
    },
  } as unknown as Status;
}

test('the heartbeat from the agent status: figures, frame rate between calls, the newest error', () => {
  let mono = 0;
  let current = status(100);
  const build = createHeartbeatBody({
    status: () => current,
    agentVersion: '0.1.0',
    models: ['ribeye-hint@3.0.0', 'ribeye-view@3.1.0'],
    lastCommittedAt: () => T - 5000,
    now: () => mono,
    wallClock: () => T,
    processUptimeS: () => 3600.7,
    systemUptimeS: () => 86_400.2,
  });
  const first = build({ clockOffsetMs: null });
  assert.ok(validateHeartbeat(first).ok);
  assert.deepEqual(first, {
    heartbeat_version: '1.0.0',
    device_code: 'dev-0001',
    sent_at: new Date(T).toISOString(),
    agent_version: '0.1.0',
    models: [
      { name: 'ribeye-hint', version: '3.0.0' },
      { name: 'ribeye-view', version: '3.1.0' },
    ],
    uptime_s: 3600,
    system_uptime_s: 86_400,
    outbox: {
      pending_captures: 2,
      pending_bytes: 2_000_000,
      oldest_pending_age_s: 95,
      quarantined: 0,
      discarded: 1,
    },
    last_capture_at: new Date(T - 5000).toISOString(),
    last_upload_at: new Date(T - 60_000).toISOString(),
    disk: { free_bytes: 150_000_000, floor_bytes: 209_715_200, free_inodes: 480_211 },
    clock: { synced: false, source: 'unsynchronized', offset_ms: null },
    probe: { connected: true, kind: 'serial', model: 'Convex-3.5MHz', frame_rate_fps: null },
    health: { ok: false, reason: 'disk below the floor' },
    last_error: null,
    ear_tag_reader: { connected: false, last_read_at: null },
    capture_button: null,
    status_signals: null,
    captures_by_result: { captured: 3, not_a_ribeye_view: 2 },
  });
  mono += 60_000;
  current = status(100 + 60 * 15, { capture: new Date(T - 1000).toISOString(), upload: T - 2000 });
  const second = build({ clockOffsetMs: -42 });
  assert.equal(second.probe.frame_rate_fps, 15);
  assert.equal(second.clock.offset_ms, -42);
  assert.deepEqual(second.last_error, {
    at: new Date(T - 1000).toISOString(),
    message: 'EIO writing the spool',
    source: 'capture',
  });
  current = status(2000, { capture: new Date(T - 3000).toISOString(), upload: T - 2000 });
  assert.equal(build({ clockOffsetMs: null }).last_error?.source, 'upload', 'the newer of the two');
});

test('a card out of inodes: disk.free_inodes and the health reason reach the heartbeat (valid); null where the file system does not count them; a count past 2^53 - 1 is bounded', () => {
  const body = (
    free_inodes: number | null,
    health: { ok: boolean; reason: string | null } = { ok: true, reason: null },
  ) =>
    createHeartbeatBody({
      status: () =>
        ({
          ...status(10),
          health: { ...health, restartable: false },
          disk: { free_bytes: 11_000_000, free_inodes, floor_bytes: 1_000_000 },
        }) as Status,
      agentVersion: '0.1.0',
      models: [],
      lastCommittedAt: () => null,
    })({ clockOffsetMs: null });
  const reason = 'disk out of inodes (10 left, 11 MB free): captures are refused';
  const short = body(10, { ok: false, reason });
  assert.deepEqual(validateHeartbeat(short).ok, true);
  assert.deepEqual(short.disk, { free_bytes: 11_000_000, floor_bytes: 1_000_000, free_inodes: 10 });
  assert.deepEqual(short.health, { ok: false, reason });
  const uncounted = body(null);
  assert.ok(validateHeartbeat(uncounted).ok);
  assert.equal(uncounted.disk.free_inodes, null);
  const huge = body(2 ** 64);
  assert.ok(validateHeartbeat(huge).ok);
  assert.equal(huge.disk.free_inodes, Number.MAX_SAFE_INTEGER);
});

test('a capture button the agent cannot open: capture_button down, since when and why (valid, the error bounded)', () => {
  const down = {
    up: false,
    down_since: new Date(T - 600_000).toISOString(),
    error: `GPIO sysfs interface /sys/class/gpio does not exist. Fix: ${'x'.repeat(2000)}`,
    failed_attempts: 14,
    next_attempt_in_s: 51.2,
  };
  const body = (button: unknown) =>
    createHeartbeatBody({
      status: () => ({ ...status(10), capture_button: button }) as Status,
      agentVersion: '0.1.0',
      models: [],
      lastCommittedAt: () => null,
    })({ clockOffsetMs: null });
  const sent = body(down);
  assert.ok(validateHeartbeat(sent).ok);
  assert.equal(sent.capture_button?.up, false);
  assert.equal(sent.capture_button?.down_since, down.down_since);
  assert.equal(sent.capture_button?.error?.length, 1000);
  assert.match(
    sent.capture_button?.error ?? '',
    /^GPIO sysfs interface \/sys\/class\/gpio does not exist\. Fix: /,
  );
  assert.deepEqual(body({ ...down, up: true, down_since: null, error: null }).capture_button, {
    up: true,
    down_since: null,
    error: null,
  });
});

test('an LED whose writes fail, no buzzer configured: status_signals.led down, since when and why (valid, bounded); up again', () => {
  const down = {
    up: false,
    down_since: new Date(T - 120_000).toISOString(),
    error: `EIO: i/o error, write ${'x'.repeat(2000)}`,
    failed_attempts: 3,
    next_attempt_in_s: 7.5,
  };
  const body = (led: unknown) =>
    createHeartbeatBody({
      status: () => ({ ...status(10), status_signals: { led, buzzer: null } }) as Status,
      agentVersion: '0.1.0',
      models: [],
      lastCommittedAt: () => null,
    })({ clockOffsetMs: null });
  const sent = body(down);
  assert.ok(validateHeartbeat(sent).ok);
  assert.equal(sent.status_signals?.led?.up, false);
  assert.equal(sent.status_signals?.led?.down_since, down.down_since);
  assert.equal(sent.status_signals?.led?.error?.length, 1000);
  assert.equal(sent.status_signals?.buzzer, null);
  assert.deepEqual(
    body({ ...down, up: true, down_since: null, error: null, failed_attempts: 0 }).status_signals,
    {
      led: { up: true, down_since: null, error: null },
      buzzer: null,
    },
  );
});

test('models: the hint and its view card as loaded from @cti/models; the hint alone without a view card', async () => {
  const { DEFAULT_MODELS_DIR } = await import('@cti/models');
  const card = (name: string) =>
    JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, `${name}.card.json`), 'utf8')) as {
      version: string;
      file?: string;
    };
  const hint = await loadHint({ log: silentLogger() });
  await hint?.close?.();
  assert.deepEqual(loadedModels(hint), [
    `ribeye-hint@${card('ribeye-hint').version}`,
    `ribeye-view@${card('ribeye-view').version}`,
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'cti-hb-models-'));
  try {
    for (const f of ['ribeye-hint.card.json', card('ribeye-hint').file!])
      copyFileSync(join(DEFAULT_MODELS_DIR, f), join(dir, f));
    const bare = await loadHint({ log: silentLogger(), modelPath: join(dir, 'ribeye-hint.card.json') });
    await bare?.close?.();
    assert.deepEqual(loadedModels(bare), [`ribeye-hint@${card('ribeye-hint').version}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(loadedModels(null), []);
});
