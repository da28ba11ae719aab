import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import { agentLocalApi, heartbeatRecorder } from './test-support/agent-local-api.ts';
import { startNotifySocket, statusLines } from './test-support/notify-socket.ts';
import { fakeCapture, outboxIn } from './test-support/outbox-fixtures.ts';
import { inMountNamespace, namespaceSkip, PI5_LINE, writePiGpioTree } from './test-support/pi-gpio-tree.ts';
import { runAgentCli } from './test-support/run-cli.ts';
import { pathWithoutGpiod, scratchDir, writeDeviceSecret } from './test-support/scratch.ts';
import { startAgentRun, waitForUploads, writeAgentConfig } from './test-support/spawned-agent.ts';

// Review r20 F10: a capture button that cannot be opened at start no longer ends `cti-agent run`. Real
// spawned agents, a real S3 peer (s3rver), heartbeats to a real HTTP server; the GPIO "hardware" is a
// sysfs tree that is missing, then appears (onoff's real sysfs code in a private mount namespace).

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const tempDir = (prefix: string) => scratchDir(cleanups, prefix);

async function backlogIn(dataDir: string, count: number): Promise<void> {
  const outbox = outboxIn(dataDir, { minFreeBytes: 0 });
  for (let n = 1; n <= count; n++) await outbox.commitCapture(fakeCapture(n));
  outbox.close();
}

function startS3(): Promise<LocalS3> {
  return startS3rver().then((s3) => {
    cleanups.push(s3.close);
    return s3;
  });
}

test('gpio trigger and LED with no GPIO and no gpiomon: `run` stays up, drains the backlog, heartbeats and status say the button is down and why, systemd’s status line names the button and the LED, doctor reports both as the agent sees them, `cti-agent capture` still captures, SIGTERM stops it at once with 0', {
  timeout: 180_000,
}, async () => {
  const dir = tempDir('cti-button-down-');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  await backlogIn(dataDir, 6);
  const s3 = await startS3();
  const hb = await heartbeatRecorder(cleanups);
  const secretFile = writeDeviceSecret(dir);
  const config = writeAgentConfig(join(dir, 'agent.json'), {
    dataDir,
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    minFreeMb: 1,
    extra: {
      trigger: { kind: 'gpio', bcm: 17 },
      // The LED on the same missing GPIO: it has no gpiomon-like fallback and used to end the start too.
      led: { bcm: 27 },
      sysfs_root: join(dir, 'no-sysfs'),
      heartbeat: { server_url: hb.url, interval_s: 1, timeout_s: 3, secret_file: secretFile },
    },
  });

  // Before: exit 1 at start with "GPIO sysfs interface … does not exist, and gpiodetect is not
  // installed", nothing uploaded, no heartbeat, at every restart.
  const notify = await startNotifySocket(join(dir, 'notify.sock'));
  cleanups.push(notify.close);
  const agent = startAgentRun(config, cleanups, {
    env: { PATH: pathWithoutGpiod(cleanups), NOTIFY_SOCKET: notify.path },
  });
  const api = await agentLocalApi(agent, dataDir);
  await waitForUploads(agent, s3, 6, { what: 'the 6 backlog captures in the bucket' });

  const status = await api.status();
  assert.equal(status.capture_button.up, false);
  assert.match(status.capture_button.down_since, /^\d{4}-\d\d-\d\dT/);
  assert.match(
    status.capture_button.error,
    /no-sysfs\/class\/gpio does not exist, and gpiodetect is not installed .*Fix: install libgpiod tools/,
  );
  assert.equal(status.health.ok, false);
  assert.equal(status.health.reason, 'capture button down: retrying (cti-agent capture still captures)');
  const healthz = await api.get('/healthz');
  assert.equal(healthz.status, 503);
  assert.equal(await api.metric('cti_agent_capture_button_up'), '0');

  await waitFor(() => hb.bodies.some((b) => b.capture_button), { what: 'a heartbeat', timeoutMs: 30_000 });
  const sent = hb.bodies.at(-1)!;
  assert.equal(sent.capture_button?.up, false);
  assert.match(sent.capture_button?.error ?? '', /Fix: install libgpiod tools/);
  assert.equal(sent.health?.ok, false);
  assert.match(sent.health?.reason ?? '', /capture button down/);

  const captured = await api.post('/capture');
  assert.equal(captured.status, 201, await captured.text());
  await waitForUploads(agent, s3, 7, { what: 'the capture taken through the local API in the bucket' });

  const output = agent.output();
  assert.equal(output.match(/capture button cannot be opened/g)?.length, 1, 'one error line, no flood');
  assert.match(output, /"level":50.*Fix: install libgpiod tools.*"msg":"capture button cannot be opened/);
  assert.match(output, /"msg":"agent ready"/);
  assert.equal(output.match(/the LED cannot be driven: the agent runs on without it/g)?.length, 1, output);
  assert.equal(status.status_signals.led.up, false);
  assert.match(status.status_signals.led.error, /no-sysfs\/class\/gpio does not exist/);
  assert.equal(status.status_signals.buzzer, null);
  assert.equal(sent.status_signals?.led?.up, false);
  assert.match(sent.status_signals?.led?.down_since ?? '', /^\d{4}-\d\d-\d\dT/);

  // systemd's status line names both (it named the button only, the LED going unmentioned).
  await waitFor(() => statusLines(notify.messages).length > 0, { what: 'READY=1 with the status line' });
  assert.deepEqual(statusLines(notify.messages), [
    'capturing from simulated (capture button and LED down: retrying)',
  ]);
  // `doctor` reports both lines as the agent sees them: down since when, why, and the fix its error
  // names (it used to check the lines itself, whatever the running agent had).
  const doctor = await runAgentCli(['--config', config, 'doctor'], { env: process.env });
  assert.equal(doctor.code, 1, doctor.stdout + doctor.stderr);
  assert.match(
    doctor.stdout,
    /\[FAIL\] gpio button\s+down since \d{4}-\d\d-\d\dT[\d:.]+Z — GPIO sysfs interface \S+\/no-sysfs\/class\/gpio does not exist, and gpiodetect is not installed[^\n]*\(the running agent's view: \d+ failed attempts?, next in [\d.]+ s\)\n\s+fix: install libgpiod tools/,
    doctor.stdout,
  );
  assert.match(
    doctor.stdout,
    /\[FAIL\] gpio led\s+down since \d{4}-\d\d-\d\dT[\d:.]+Z — GPIO sysfs interface \S+\/no-sysfs\/class\/gpio does not exist\.[^\n]*\(the running agent's view[^\n]*\n\s+fix: use a kernel with CONFIG_GPIO_SYSFS/,
    doctor.stdout,
  );

  // Stopped while a retry is pending: the onShutdown timeout (15 s) is far away.
  const stopping = Date.now();
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
  assert.ok(Date.now() - stopping < 5000, `stopped in ${Date.now() - stopping} ms`);
});

test('the GPIO tree appears after the start: the agent opens the button by itself, logs it, status and systemd’s status line say up, and a press captures and uploads', {
  skip: namespaceSkip,
  timeout: 180_000,
}, async () => {
  const dir = tempDir('cti-button-back-');
  const dataDir = join(dir, 'data');
  const s3 = await startS3();
  const config = writeAgentConfig(join(dir, 'agent.json'), {
    dataDir,
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    minFreeMb: 1,
    extra: { trigger: { kind: 'gpio', bcm: 17, debounce_ms: 20, lockout_ms: 500 } },
  });
  // The agent in its own mount namespace with an empty tmpfs over /sys/class: no sysfs GPIO, and no
  // gpiomon on its PATH. This test reaches that /sys/class through /proc/<pid>/root.
  const notify = await startNotifySocket(join(dir, 'notify.sock'));
  cleanups.push(notify.close);
  const agent = startAgentRun(config, cleanups, {
    env: { NOTIFY_SOCKET: notify.path },
    wrap: inMountNamespace(`mount -t tmpfs tmpfs /sys/class && export PATH=${pathWithoutGpiod(cleanups)}`),
  });
  const api = await agentLocalApi(agent, dataDir);
  let status = await api.status();
  assert.equal(status.capture_button.up, false, JSON.stringify(status.capture_button));
  assert.match(status.capture_button.error, /\/sys\/class\/gpio does not exist/);

  // BCM 17 exported as an input, released (active low), built beside the tree and renamed in whole.
  const [value] = writePiGpioTree(
    `/proc/${agent.pid}/root/sys/class`,
    { [PI5_LINE.button]: { direction: 'in', value: '1' } },
    { staged: true },
  );
  await waitFor(async () => agent.exited() || (await api.status()).capture_button.up, {
    what: 'the button opened by a retry',
    timeoutMs: 60_000,
  });
  status = await api.status();
  assert.equal(status.capture_button.up, true, agent.output().slice(-3000));
  assert.equal(status.capture_button.error, null);
  assert.equal(status.health.ok, true, status.health.reason);
  assert.equal(await api.metric('cti_agent_capture_button_up'), '1');
  assert.match(
    agent.output(),
    /"level":30.*"downForS":\d+.*"msg":"capture button up again: presses capture"/,
  );
  await waitFor(() => statusLines(notify.messages).length >= 2, {
    what: 'the status line without the button',
  });
  assert.deepEqual(statusLines(notify.messages), [
    'capturing from simulated (capture button down: retrying)',
    'capturing from simulated',
  ]);

  writeFileSync(value!, '0'); // pressed (active low)
  await waitFor(async () => (await api.status()).last_capture?.via === 'button', {
    what: 'a capture from the button',
    timeoutMs: 20_000,
  });
  writeFileSync(value!, '1');
  status = await api.status();
  assert.equal(status.last_capture.status, 'captured', JSON.stringify(status.last_capture));
  assert.equal(status.trigger.presses, 1);
  await waitForUploads(agent, s3, 1, { what: 'the pressed capture in the bucket' });
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
});
