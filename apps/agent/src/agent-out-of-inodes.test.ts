import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDeviceKey, validateHeartbeat } from '@cti/contracts';
import { waitFor } from '@cti/testkit';
import { type AgentDeps, createAgent } from './agent.ts';
import { resolveConfig } from './config/agent-config.ts';
import { createSimulatedSource } from './frames/simulated-source.ts';
import { createStatusSignals } from './signals/status-signals.ts';
import { agentLocalApi, heartbeatRecorder } from './test-support/agent-local-api.ts';
import { outboxIn } from './test-support/outbox-fixtures.ts';
import { startAgentRun, writeAgentConfig } from './test-support/spawned-agent.ts';
import { mountSmallVolume, type SmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

// A card out of inodes with megabytes free (review r20 F7): the outbox refuses every capture, and the
// agent's health — /healthz, the LED, the watchdog, the heartbeat — must say so rather than "ready".
// Real tmpfs volumes with a few hundred inodes (nr_inodes), filled with empty files as a console export
// folder would; the kernel's own statfs and ENOSPC.

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const OUT_OF_INODES = /^disk out of inodes \(10 left, \d+ MB free\): captures are refused$/;

function smallVolume(): SmallVolume {
  const volume = mountSmallVolume('16m', { inodes: 300 });
  cleanups.push(volume.unmount);
  return volume;
}

/** Removes the files fillInodes made: the operator cleared the export folder. */
function freeInodes(volume: SmallVolume) {
  for (const name of readdirSync(volume.dir))
    if (name.startsWith('inode-')) unlinkSync(join(volume.dir, name));
}

test('out of inodes with megabytes free: health not ok naming inodes (not restartable), status free_inodes, the LED error pattern, a press refused; the bytes floor is named first; inodes back: healthy', {
  skip: tmpfsSkip,
  timeout: 60_000,
}, async () => {
  const volume = smallVolume();
  const config = resolveConfig({
    device_code: 'dev-0001',
    data_dir: volume.dir,
    source: { kind: 'simulated', pattern: 'synthetic' },
    upload: { bucket: 'cti-test' },
  });
  const outbox = outboxIn(volume.dir, { minFreeBytes: 1_000_000 });
  cleanups.push(() => outbox.close());
  const signals = createStatusSignals({ led: { write: () => {} } });
  const source = createSimulatedSource({ width: 160, height: 120, fps: 20 });
  const parts: Omit<AgentDeps, 'config'> = {
    source,
    outbox,
    signals,
    clockStatus: () => ({ synced: true, source: 'timesyncd' }),
    firmware: { pi_os: 'test', app_version: '0.1.0' },
  };
  const agent = createAgent({
    config: { ...config, outbox: { ...config.outbox, minFreeBytes: 1_000_000 } },
    ...parts,
  });
  await agent.start();
  cleanups.push(agent.stop);
  await waitFor(() => source.status().frames >= 3, { what: 'frames' });
  assert.deepEqual(agent.health(), { ok: true, reason: null, restartable: false });
  const before = agent.status().disk;
  assert.ok(typeof before.free_inodes === 'number' && before.free_inodes > 64, JSON.stringify(before));

  volume.fillInodes(10);
  assert.ok(volume.free() > 5_000_000, 'megabytes free');
  // Before: { ok: true } — the agent checked bytes only.
  const health = agent.health();
  assert.match(health.reason ?? '', OUT_OF_INODES);
  assert.deepEqual({ ...health, reason: null }, { ok: false, reason: null, restartable: false });
  const { disk } = agent.status();
  assert.equal(disk.free_inodes, 10);
  assert.ok(disk.free_bytes !== null && disk.free_bytes > 5_000_000);
  assert.equal(agent.status().health.reason, health.reason);
  await waitFor(() => signals.base() === 'error', { what: 'the LED error pattern', timeoutMs: 10_000 });
  const press = await agent.capture(undefined, 'http');
  assert.equal(press.status === 'refused' && press.reason, 'disk_floor');
  assert.match(press.status === 'refused' ? press.message : '', /no free inodes \(\d+ left/);

  // Both short: the bytes floor is named (its fix is the first to try).
  const floored = createAgent({
    config: { ...config, outbox: { ...config.outbox, minFreeBytes: Number.MAX_SAFE_INTEGER } },
    ...parts,
  });
  assert.match(floored.health().reason ?? '', /^disk below the floor /);

  freeInodes(volume);
  assert.deepEqual(agent.health(), { ok: true, reason: null, restartable: false });
  assert.ok((agent.status().disk.free_inodes ?? 0) > 64);
  await waitFor(() => signals.base() === 'ready', { what: 'the LED ready again', timeoutMs: 10_000 });
});

test('`cti-agent run` on a card out of inodes: GET /healthz 503 naming inodes, status and the heartbeat carry disk.free_inodes and the reason; inodes freed: 200 and a healthy heartbeat', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const volume = smallVolume();
  const dir = mkdtempSync(join(tmpdir(), 'cti-inodes-run-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(volume.dir, 'data');
  mkdirSync(dataDir);
  const hb = await heartbeatRecorder(cleanups);
  const secretFile = join(dir, 'device-secret');
  writeFileSync(secretFile, createDeviceKey('dev-test').secret);
  chmodSync(secretFile, 0o600);
  const config = writeAgentConfig(join(dir, 'agent.json'), {
    dataDir,
    bucket: 'cti-test',
    endpoint: 'http://127.0.0.1:1',
    minFreeMb: 1,
    extra: {
      upload: { bucket: 'cti-test', enabled: false },
      heartbeat: { server_url: hb.url, interval_s: 1, timeout_s: 3, secret_file: secretFile },
    },
  });
  const agent = startAgentRun(config, cleanups);
  const api = await agentLocalApi(agent, dataDir);
  assert.equal((await api.get('/healthz')).status, 200, agent.output().slice(-3000));

  volume.fillInodes(10);
  const healthz = await api.get('/healthz');
  assert.equal(healthz.status, 503, 'before: 200, "ready" with every capture refused');
  const health = (await healthz.json()) as { reason: string; restartable: boolean };
  assert.match(health.reason, OUT_OF_INODES);
  assert.equal(health.restartable, false);
  const status = await api.status();
  assert.equal(status.disk.free_inodes, 10);
  assert.equal(status.disk.floor_bytes, 1024 * 1024);

  const count = hb.bodies.length;
  await waitFor(() => hb.bodies.length > count + 1, {
    what: 'a heartbeat after the fill',
    timeoutMs: 30_000,
  });
  const sent = hb.bodies.at(-1)!;
  assert.ok(validateHeartbeat(sent).ok);
  assert.equal(sent.disk.free_inodes, 10);
  assert.equal(sent.health?.ok, false);
  assert.match(sent.health?.reason ?? '', OUT_OF_INODES);

  freeInodes(volume);
  assert.equal((await api.get('/healthz')).status, 200);
  const back = hb.bodies.length;
  await waitFor(() => hb.bodies.length > back + 1, {
    what: 'a heartbeat after the clean-up',
    timeoutMs: 30_000,
  });
  const healthy = hb.bodies.at(-1)!;
  assert.deepEqual(healthy.health, { ok: true, reason: null });
  assert.ok((healthy.disk.free_inodes ?? 0) > 64);
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
});
