import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateMeta } from '@cti/contracts';
import { createLogger, silentLogger } from '@cti/runtime';
import { waitFor } from '@cti/testkit';
import { Registry } from 'prom-client';
import { createAgent } from './agent.ts';
import { loadHint } from './capture/hint.ts';
import { resolveConfig } from './config/agent-config.ts';
import { createFramePool } from './frames/frame-pool.ts';
import { createSerialSource } from './frames/serial-source.ts';
import { createSimulatedSource } from './frames/simulated-source.ts';
import { createOutbox } from './outbox/index.ts';
import { createProbeEmulator } from './probe-emulator/probe-emulator.ts';
import { createStatusSignals } from './signals/status-signals.ts';
import { createPtyPair } from './test-support/pty-pair.ts';
import { createButton, type Level } from './trigger/button.ts';
import { createRetryingButton } from './trigger/retrying-button.ts';

/**
 * A temp data_dir, the config resolved into it (simulated synthetic source unless `file` says
 * otherwise) and a real outbox there; `remove()` closes the outbox and deletes the dir.
 */
function testbed(prefix: string, file: Record<string, unknown> = {}, { minFreeBytes = 0 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const config = resolveConfig({
    device_code: 'dev-0001',
    data_dir: dir,
    source: { kind: 'simulated', pattern: 'synthetic' },
    upload: { bucket: 'cti-test' },
    ...file,
  });
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    minFreeBytes,
  });
  return {
    dir,
    config,
    outbox,
    remove() {
      outbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Status signals whose shown events are recorded (the LED itself writes nowhere). */
function recordedSignals() {
  const shown: string[] = [];
  const signals = createStatusSignals({ led: { write: () => {} } });
  const show = signals.show;
  signals.show = (event) => {
    shown.push(event);
    show(event);
  };
  return { signals, shown };
}

// The whole chain on real peers (socat PTY + emulator process-equivalent, real outbox on disk); only
// the GPIO interrupt is injected, as edges into the real debouncer.
test('button press → best serial frame → committed outbox entry with a valid meta.json; long press retries uploads', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-agent-'));
  const pty = await createPtyPair(dir);
  const emulator = createProbeEmulator({
    path: pty.devicePath,
    width: 320,
    height: 240,
    fps: 25,
    serial: 'EMU-42',
  });
  await emulator.start();
  const config = resolveConfig({
    device_code: 'dev-0007',
    farm_id: '6f1c2a3e-5b7d-4c8e-9f01-23456789abcd',
    data_dir: dir,
    source: { kind: 'serial', path: pty.hostPath },
    trigger: { kind: 'gpio', bcm: 17 },
    upload: { bucket: 'cti-test' },
  });
  const outbox = createOutbox({
    dbPath: config.paths.outboxDb,
    spoolDir: config.paths.spoolDir,
    minFreeBytes: 0,
  });
  let level: Level = 1;
  const button = createButton({
    pressedLevel: 0,
    readLevel: () => level,
    debounceMs: 10,
    lockoutMs: 200,
    longPressMs: 300,
  });
  const led: Level[] = [];
  const signals = createStatusSignals({ led: { write: (l) => led.push(l) } });
  let wakes = 0;
  const uploader = { start() {}, stop: async () => {}, wakeNow: () => void wakes++ };
  const source = createSerialSource({ path: pty.hostPath });
  const agent = createAgent({
    config,
    source,
    outbox,
    button,
    signals,
    uploader,
    clockStatus: () => ({ synced: false, source: 'unsynchronized' }),
    firmware: { pi_os: 'Debian GNU/Linux 12 (bookworm)', app_version: '0.1.0' },
  });
  try {
    agent.setSession({ operatorId: 'tech-xyz' });
    await agent.start();
    await waitFor(() => source.status().frames >= 5, { what: 'probe frames' });
    const press = (l: Level) => {
      level = l;
      button.edge();
    };
    press(0);
    await waitFor(() => outbox.summary().pendingCaptures === 1, { what: 'a committed capture' });
    await waitFor(() => wakes === 1, { what: 'long press → retry uploads' });
    press(1);
    const [entry] = outbox.list();
    const meta = JSON.parse(readFileSync(outbox.spoolPath(entry!.captureId, 'meta.json'), 'utf8'));
    assert.ok(validateMeta(meta).ok);
    assert.equal(meta.device_code, 'dev-0007');
    assert.equal(meta.operator_id, 'tech-xyz', 'the session overrides the config');
    assert.deepEqual(meta.probe, { model: 'EMU-Convex-3.5', frequency_mhz: 3.5 });
    assert.deepEqual(meta.clock, { synced: false, source: 'unsynchronized' });
    assert.equal(meta.acquisition.source, 'serial');
    const status = agent.status();
    assert.equal(status.captures.captured, 1);
    assert.equal(status.last_capture?.via, 'button');
    assert.equal(status.health.ok, true);
    assert.ok(led.includes(1), 'the LED was driven');
  } finally {
    await agent.stop();
    await emulator.stop();
    await pty.close();
    outbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// The probe unplugged (socat gone, the serial source reconnecting with backoff): a press used to be
// refused as `frozen` "feed stalled", which sends the technician after the wrong problem.
test('a press while the serial probe is unplugged is refused as probe_disconnected (check the cable), with the refused signal', {
  timeout: 60_000,
}, async () => {
  const ptyDir = mkdtempSync(join(tmpdir(), 'cti-unplug-pty-'));
  const pty = await createPtyPair(ptyDir);
  const { config, outbox, remove } = testbed('cti-unplug-', {
    source: { kind: 'serial', path: pty.hostPath },
  });
  const emulator = createProbeEmulator({ path: pty.devicePath, width: 320, height: 240, fps: 0 });
  await emulator.start();
  const source = createSerialSource({ path: pty.hostPath, reconnectBaseMs: 50, reconnectCapMs: 200 });
  let level: Level = 1;
  const button = createButton({ pressedLevel: 0, readLevel: () => level, debounceMs: 10, lockoutMs: 0 });
  const press = async (n: number) => {
    level = 0;
    button.edge();
    const served = () => {
      const { captured, refused, failed } = agent.status().captures;
      return captured + refused + failed === n;
    };
    await waitFor(served, { what: `press ${n} served` });
    level = 1;
    button.edge();
    await waitFor(() => !button.isPressed(), { what: `release ${n}` });
  };
  const { signals, shown } = recordedSignals();
  const agent = createAgent({
    config,
    source,
    outbox,
    button,
    signals,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  try {
    await agent.start();
    await waitFor(() => source.identity(), { what: 'identify reply', timeoutMs: 20_000 });
    await emulator.sendFrame();
    await waitFor(() => source.status().frames === 1, { what: 'one probe frame' });
    await press(1);
    assert.equal(agent.status().last_capture?.status, 'captured');
    await emulator.stop();
    await pty.unplug();
    await waitFor(() => !source.status().connected, { what: 'the source sees the unplug' });
    shown.length = 0;
    await press(2);
    const last = agent.status().last_capture;
    assert.equal(last?.status, 'refused');
    assert.equal(last?.status === 'refused' && last.reason, 'probe_disconnected');
    assert.match(
      last?.status === 'refused' ? last.message : '',
      /probe is disconnected.*check the probe cable/,
    );
    assert.deepEqual(shown, ['capturing', 'refused'], 'the same refused LED/buzzer signal');
    assert.equal(outbox.summary().pendingCaptures, 1, 'nothing committed for the refused press');
  } finally {
    await agent.stop();
    await emulator.stop().catch(() => {});
    await pty.close();
    remove();
    rmSync(ptyDir, { recursive: true, force: true });
  }
});

test('health: an unplugged probe or a full disk is not restartable, a connected but silent probe is', {
  timeout: 60_000,
}, async () => {
  const { config, outbox, remove } = testbed('cti-health-', { watchdog: { max_frame_gap_ms: 1000 } });
  let clock = 0;
  let connected = false;
  let lastFrameAt: number | null = null;
  // A stand-in source reporting whatever link state the test sets (the states are what matter here).
  const source = {
    start: async () => {},
    stop: async () => {},
    onFrame: () => () => {},
    identity: () => null,
    status: () => ({
      kind: 'serial' as const,
      connected,
      frames: 0,
      droppedFrames: 0,
      lastFrameAt,
      detail: {},
    }),
  };
  const agent = createAgent({
    config,
    source,
    outbox,
    now: () => clock,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  try {
    await agent.start();
    assert.deepEqual(agent.health(), {
      ok: false,
      reason: 'serial source not connected',
      restartable: false,
    });
    connected = true;
    lastFrameAt = 0;
    clock = 500;
    assert.equal(agent.health().ok, true);
    clock = 2500;
    assert.deepEqual(agent.health(), {
      ok: false,
      reason: 'source connected but no frames for 2500 ms',
      restartable: true,
    });
    await agent.stop();
    const full = createAgent({
      config: { ...config, outbox: { ...config.outbox, minFreeBytes: Number.MAX_SAFE_INTEGER } },
      source,
      outbox,
      now: () => clock,
      clockStatus: () => ({ synced: true, source: 'timesyncd' }),
      firmware: { pi_os: 'test', app_version: '0.1.0' },
    });
    const h = full.health();
    assert.equal(h.ok, false);
    assert.equal(h.restartable, false);
    assert.match(h.reason ?? '', /^disk below the floor .*: captures are refused$/);
  } finally {
    await agent.stop();
    remove();
  }
});

test('a capture button that cannot be opened: health not ok naming it (not restartable, the LED error pattern), status says why; up again: healthy, a press captures', {
  timeout: 60_000,
}, async () => {
  const { config, outbox, remove } = testbed('cti-button-down-');
  let present = false;
  let level: Level = 1;
  const hardware = createButton({ pressedLevel: 0, readLevel: () => level, debounceMs: 5, lockoutMs: 0 });
  const button = createRetryingButton({
    open: async () => {
      if (!present)
        throw new Error('no GPIO controller labelled nope under /sys/class/gpio. Fix: set "gpio_chip_label"');
      // This test's line never fails once open (retrying-button.test.ts has one that does).
      return { ...hardware, onFailure: () => () => {}, close: () => {} };
    },
    initialDelayMs: 50,
    maxDelayMs: 50,
  });
  await button.start();
  const { signals } = recordedSignals();
  const source = createSimulatedSource({ fps: 20, width: 256, height: 192 });
  const agent = createAgent({
    config,
    source,
    outbox,
    button,
    signals,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  try {
    await agent.start();
    await waitFor(() => agent.ring.size() > 0, { what: 'frames', timeoutMs: 10_000 });
    assert.deepEqual(agent.health(), {
      ok: false,
      reason: 'capture button down: retrying (cti-agent capture still captures)',
      restartable: false,
    });
    const status = agent.status().capture_button;
    assert.equal(status?.up, false);
    assert.match(status?.error ?? '', /Fix: set "gpio_chip_label"/);
    await waitFor(() => signals.base() === 'error', { what: 'the LED error pattern', timeoutMs: 5000 });
    assert.equal((await agent.capture()).status, 'captured', 'the local API trigger still captures');

    present = true;
    await waitFor(() => agent.health().ok, { what: 'healthy once the button opens', timeoutMs: 5000 });
    assert.equal(agent.status().capture_button?.up, true);
    level = 0;
    hardware.edge();
    await waitFor(() => agent.status().last_capture?.via === 'button', {
      what: 'a press captured',
      timeoutMs: 5000,
    });
    assert.equal(agent.status().captures.captured, 2);
  } finally {
    button.close();
    await agent.stop();
    remove();
  }
});

test('a press with the disk below the floor is refused as disk_floor: refused signal, nothing committed or left in the spool', {
  timeout: 60_000,
}, async () => {
  // The real outbox and its real statfs check, with a floor no disk can meet.
  const { config, outbox, remove } = testbed('cti-floor-', {}, { minFreeBytes: Number.MAX_SAFE_INTEGER });
  const { signals, shown } = recordedSignals();
  const source = createSimulatedSource({ width: 160, height: 120, fps: 20 });
  const agent = createAgent({
    config,
    source,
    outbox,
    signals,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  try {
    await agent.start();
    await waitFor(() => source.status().frames >= 3, { what: 'frames' });
    const result = await agent.capture(undefined, 'http');
    assert.equal(result.status, 'refused');
    assert.equal(result.status === 'refused' && result.reason, 'disk_floor');
    assert.match(
      result.status === 'refused' ? result.message : '',
      /^capture refused: .* MB free on the spool disk, the floor is .*lower outbox.min_free_mb/,
    );
    assert.deepEqual(shown, ['capturing', 'refused']);
    assert.equal(agent.status().captures.refused, 1);
    assert.deepEqual(outbox.list(), []);
    assert.deepEqual(readdirSync(config.paths.spoolDir), [], 'no capture directory, no temp file');
  } finally {
    await agent.stop();
    remove();
  }
});

test('a view below capture.quality_gate.min_ribeye_view is refused as not_a_ribeye_view: refused signal, warn log, counted in /metrics', {
  timeout: 60_000,
}, async () => {
  // The real hint model and its view verdict; a threshold of 1 makes every frame fail the view gate.
  const { config, outbox, remove } = testbed('cti-view-', {
    capture: { quality_gate: { min_ribeye_view: 1 } },
  });
  const hint = await loadHint({ log: silentLogger() });
  assert.ok(hint);
  const lines: string[] = [];
  const log = createLogger({ name: 'cti-agent', destination: { write: (l: string) => void lines.push(l) } });
  const { signals, shown } = recordedSignals();
  const metrics = new Registry();
  const source = createSimulatedSource({ width: 256, height: 192, fps: 20 });
  const agent = createAgent({
    config,
    source,
    outbox,
    signals,
    hint,
    metrics,
    log,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  try {
    await agent.start();
    await waitFor(() => source.status().frames >= 3, { what: 'frames' });
    const result = await agent.capture(undefined, 'http');
    assert.equal(result.status === 'refused' && result.reason, 'not_a_ribeye_view');
    assert.match(result.status === 'refused' ? result.message : '', /re-position|probe/);
    assert.deepEqual(shown, ['capturing', 'refused']);
    assert.equal(agent.status().captures.refused, 1);
    // By result, as the heartbeat sends it to the fleet.
    assert.deepEqual(agent.status().captures.by_result, { not_a_ribeye_view: 1 });
    assert.deepEqual(outbox.list(), []);
    const warn = lines.map((l) => JSON.parse(l)).find((l) => l.reason === 'not_a_ribeye_view');
    assert.ok(warn && warn.level === 40 && typeof warn.ribeyeView === 'number', lines.join(''));
    const text = await metrics.metrics();
    assert.match(text, /cti_agent_captures_total\{result="not_a_ribeye_view"\} 1/);
    assert.match(text, /cti_agent_ribeye_view_count 1/);
  } finally {
    await agent.stop();
    remove();
  }
});

test('pooled frame buffers: frames leaving the ring are refilled, but never the previous capture while the frozen check needs it', {
  timeout: 60_000,
}, async () => {
  const { config, outbox, remove } = testbed('cti-pool-', {
    capture: { ring_ms: 100, window_before_ms: 30 },
  });
  let clock = 1000;
  const framePool = createFramePool();
  const source = createSimulatedSource({
    width: 160,
    height: 120,
    fps: 0,
    pool: framePool,
    now: () => clock,
  });
  const seen: Uint8Array[] = [];
  source.onFrame((f) => seen.push(f.gray));
  const agent = createAgent({
    config,
    source,
    framePool,
    outbox,
    now: () => clock,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  });
  try {
    await agent.start();
    source.tick(); // A, captured
    assert.equal((await agent.capture(clock)).status, 'captured');
    clock = 1200;
    source.tick(); // C: A leaves the ring but stays held as the previous capture
    clock = 1240;
    source.tick(); // D: would reuse A's buffer (and look identical to it: "frozen") without the hold
    assert.notEqual(seen[2], seen[0]);
    const second = await agent.capture(clock);
    assert.equal(second.status, 'captured', JSON.stringify(second));
    clock = 1260;
    source.tick(); // E: A's buffer, released when D became the previous capture, is filled again
    assert.equal(seen[3], seen[0]);
    assert.deepEqual(framePool.stats(), { allocated: 3, reused: 1, free: 0 });
  } finally {
    await agent.stop();
    remove();
  }
});
