import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createDeviceKey } from '@cti/contracts';
import { startS3rver, waitFor } from '@cti/testkit';
import { agentLocalApi, heartbeatRecorder } from './test-support/agent-local-api.ts';
import { startAgentRun, waitForUploads, writeAgentConfig } from './test-support/spawned-agent.ts';
import { mountSmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

// The status LED's line fails after the start. A real spawned agent drives its LED through onoff's
// real sysfs code on a fake Raspberry Pi 5 GPIO tree: a small tmpfs bind-mounted over /sys/class in the
// agent's own mount namespace. The line fails the way a sysfs write can, from the kernel: the value
// file emptied on a full volume, so the next write of the agent's open fd gets ENOSPC. Freed, the line
// works again.

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** A Pi 5's sysfs GPIO tree under `classDir` with BCM 27 (pinctrl-rp1 base 571: line 598) exported. */
function piSysfs(classDir: string): string {
  const write = (path: string, text: string) => {
    mkdirSync(join(classDir, path, '..'), { recursive: true });
    writeFileSync(join(classDir, path), text);
  };
  for (const [base, label, ngpio] of [
    [512, 'gpio-brcmstb@107d508500', 32],
    [571, 'pinctrl-rp1', 54],
  ] as const) {
    write(`gpio/gpiochip${base}/label`, `${label}\n`);
    write(`gpio/gpiochip${base}/base`, `${base}\n`);
    write(`gpio/gpiochip${base}/ngpio`, `${ngpio}\n`);
  }
  for (const [file, value] of Object.entries({ value: '0', direction: 'out', edge: 'none', active_low: '0' }))
    write(`gpio/gpio598/${file}`, `${value}\n`);
  write('gpio/export', '');
  write('gpio/unexport', '');
  return join(classDir, 'gpio', 'gpio598', 'value');
}

test('the LED line fails after the start: the agent stays up and captures, status/heartbeat/metrics say the LED is down since when and why (one log line), and when the line works again it shows the ready light', {
  skip: tmpfsSkip,
  timeout: 180_000,
}, async () => {
  const dir = tempDir('cti-led-down-');
  const dataDir = join(dir, 'data');
  const sysClass = mountSmallVolume('256k');
  cleanups.push(() => sysClass.unmount()); // after the agent (cleanups run in reverse)
  const value = piSysfs(sysClass.dir);
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const hb = await heartbeatRecorder(cleanups);
  const secretFile = join(dir, 'device-secret');
  writeFileSync(secretFile, createDeviceKey('dev-test').secret);
  chmodSync(secretFile, 0o600);
  const config = writeAgentConfig(join(dir, 'agent.json'), {
    dataDir,
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    minFreeMb: 1,
    extra: {
      led: { bcm: 27 },
      heartbeat: { server_url: hb.url, interval_s: 1, timeout_s: 3, secret_file: secretFile },
    },
  });
  const agent = startAgentRun(config, cleanups, {
    wrap: (argv) => [
      'unshare',
      '-m',
      'sh',
      '-c',
      `mount --bind ${sysClass.dir} /sys/class && exec "$@"`,
      'sh',
      ...argv,
    ],
  });
  const api = await agentLocalApi(agent, dataDir);
  await waitFor(() => readFileSync(value, 'utf8').startsWith('1'), {
    what: 'the ready light on',
    timeoutMs: 10_000,
  });

  await waitFor(async () => (await api.status()).source.frames >= 20, {
    what: 'frames from the simulated probe',
    timeoutMs: 20_000,
  });

  // The line fails: every later write of the agent's open value fd gets ENOSPC from the kernel.
  truncateSync(value, 0);
  const fillers = sysClass.fill();
  assert.throws(() => writeFileSync(join(sysClass.dir, 'probe'), '1'), { code: 'ENOSPC' });

  // A capture flickers the LED: before, the first failed write threw out of the pattern player's timer
  // and ended the agent (uncaught ENOSPC), and at its restart the LED was silently gone.
  let captured = await api.post('/capture');
  assert.equal(captured.status, 201, await captured.text());
  await waitFor(async () => agent.exited() || (await api.status()).status_signals?.led?.up === false, {
    what: 'the LED reported down',
    timeoutMs: 20_000,
  });
  assert.equal(agent.exited(), false, agent.output().slice(-4000));
  let status = await api.status();
  assert.equal(status.status_signals.led.up, false);
  assert.match(status.status_signals.led.down_since, /^\d{4}-\d\d-\d\dT/);
  assert.match(status.status_signals.led.error, /ENOSPC/);
  assert.equal(status.status_signals.buzzer, null);
  assert.equal(status.health.ok, true, 'the capture loop is healthy: only the light is gone');
  assert.equal(await api.metric('cti_agent_signal_output_up{output="led"}'), '0');
  assert.equal(await api.metric('cti_agent_signal_output_failures_total{output="led"}'), '1');
  captured = await api.post('/capture'); // more flicker while it is down
  assert.equal(captured.status, 201, await captured.text());
  await waitForUploads(agent, s3, 2, { what: 'both captures in the bucket' });
  await waitFor(() => hb.bodies.some((b) => b.status_signals?.led?.up === false), {
    what: 'a heartbeat with the LED down',
    timeoutMs: 30_000,
  });
  const sent = hb.bodies.findLast((b) => b.status_signals?.led?.up === false)!;
  assert.match(sent.status_signals?.led?.error ?? '', /ENOSPC/);
  const downLines = agent.output().match(/"msg":"the LED stopped working[^"]*"/g) ?? [];
  assert.equal(downLines.length, 1, 'one error line for the outage, not one per blink');

  // The line works again: the retry re-opens it and the LED shows the steady ready light.
  for (const f of fillers) rmSync(f);
  await waitFor(async () => agent.exited() || (await api.status()).status_signals.led.up, {
    what: 'the LED re-opened by a retry',
    timeoutMs: 90_000,
  });
  status = await api.status();
  assert.equal(status.status_signals.led.up, true, agent.output().slice(-3000));
  assert.equal(status.status_signals.led.error, null);
  assert.equal(status.signal, 'ready');
  assert.equal(readFileSync(value, 'utf8'), '1', 'the ready light on again');
  assert.equal(await api.metric('cti_agent_signal_output_up{output="led"}'), '1');
  assert.match(agent.output(), /"level":30.*"downForS":\d+.*"msg":"the LED works again"/);
  await waitFor(() => hb.bodies.at(-1)?.status_signals?.led?.up === true, {
    what: 'a heartbeat with the LED up',
    timeoutMs: 30_000,
  });
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
});
