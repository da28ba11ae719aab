import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startS3rver, waitFor } from '@cti/testkit';
import { agentLocalApi, heartbeatRecorder } from './test-support/agent-local-api.ts';
import { fakeGpiod } from './test-support/fake-gpiod.ts';
import { startNotifySocket, statusLines } from './test-support/notify-socket.ts';
import {
  exportPiGpioLine,
  inMountNamespace,
  namespaceSkip,
  PI5_LINE,
  writePiGpioTree,
} from './test-support/pi-gpio-tree.ts';
import { runAgentCli } from './test-support/run-cli.ts';
import { pathWithoutGpiod, scratchDir, writeDeviceSecret } from './test-support/scratch.ts';
import { startAgentRun, waitForUploads, writeAgentConfig } from './test-support/spawned-agent.ts';

// A capture button that opened and then stopped working used to be reported up for ever: presses
// captured nothing while status, heartbeat, LED and systemd said all was well. A real spawned agent
// drives onoff's real sysfs code on a fake Pi 5 GPIO tree bound over /sys/class in its own mount
// namespace; the test unexports the button's line under it (its directory goes, as the kernel's
// unexport does), then exports it again. The gpiomon fallback the same way with the fake libgpiod tools
// on the agent's PATH. Real S3 peer (s3rver), heartbeats to a real HTTP server.

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const tempDir = (prefix: string) => scratchDir(cleanups, prefix);

test('the button line unexported under a running agent: down with the reason and the fix in status, heartbeat, metric, health, systemd’s status line and doctor; exported again: re-opened by itself, up, a press captures', {
  skip: namespaceSkip,
  timeout: 180_000,
}, async () => {
  const dir = tempDir('cti-button-lost-');
  const dataDir = join(dir, 'data');
  const classDir = join(dir, 'class');
  mkdirSync(classDir);
  let [value] = writePiGpioTree(classDir, { [PI5_LINE.button]: { direction: 'in', value: '1' } });
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const hb = await heartbeatRecorder(cleanups);
  const secretFile = writeDeviceSecret(dir);
  const config = writeAgentConfig(join(dir, 'agent.json'), {
    dataDir,
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    minFreeMb: 1,
    extra: {
      trigger: { kind: 'gpio', bcm: 17, debounce_ms: 20, lockout_ms: 500 },
      heartbeat: { server_url: hb.url, interval_s: 1, timeout_s: 3, secret_file: secretFile },
    },
  });
  const notify = await startNotifySocket(join(dir, 'notify.sock'));
  cleanups.push(notify.close);
  const agent = startAgentRun(config, cleanups, {
    env: { NOTIFY_SOCKET: notify.path },
    wrap: inMountNamespace(
      `mount --bind ${classDir} /sys/class && export PATH=${pathWithoutGpiod(cleanups)}`,
    ),
  });
  const api = await agentLocalApi(agent, dataDir);
  const pressCaptures = async (n: number) => {
    writeFileSync(value!, '0'); // pressed (active low)
    await waitFor(async () => (await api.status()).trigger.presses === n, {
      what: `press ${n} seen by the agent`,
      timeoutMs: 20_000,
    });
    writeFileSync(value!, '1');
    await waitForUploads(agent, s3, n, { what: `the capture of press ${n} in the bucket` });
  };
  assert.equal((await api.status()).capture_button.up, true, agent.output().slice(-3000));
  await pressCaptures(1);

  // Unexported by someone else (`echo 588 > /sys/class/gpio/unexport`): the line's directory goes.
  rmSync(join(classDir, 'gpio', `gpio${PI5_LINE.button}`), { recursive: true });
  await waitFor(async () => agent.exited() || !(await api.status()).capture_button.up, {
    what: 'the button reported down',
    timeoutMs: 30_000,
  });
  const status = await api.status();
  assert.equal(status.capture_button.up, false, agent.output().slice(-3000));
  assert.match(status.capture_button.down_since, /^\d{4}-\d\d-\d\dT/);
  assert.match(
    status.capture_button.error,
    /^sysfs GPIO 588 is not there \(ENOENT: [^)]*\/sys\/class\/gpio\/gpio588\/value'?\): it was unexported .* Fix: stop whatever unexports it; the agent re-opens the line by itself/,
  );
  assert.equal(status.health.ok, false);
  assert.equal(status.health.reason, 'capture button down: retrying (cti-agent capture still captures)');
  assert.equal((await api.get('/healthz')).status, 503);
  assert.equal(await api.metric('cti_agent_capture_button_up'), '0');
  assert.match(
    agent.output(),
    /"level":50.*"err":"sysfs GPIO 588 is not there.*"msg":"capture button stopped working: presses capture nothing until it is back/,
  );
  await waitFor(() => hb.bodies.at(-1)?.capture_button?.up === false, {
    what: 'a heartbeat with the button down',
    timeoutMs: 30_000,
  });
  assert.match(hb.bodies.at(-1)!.capture_button?.error ?? '', /sysfs GPIO 588 is not there/);
  await waitFor(() => statusLines(notify.messages).length >= 2, {
    what: 'the status line naming the button',
  });
  assert.deepEqual(statusLines(notify.messages).slice(0, 2), [
    'capturing from simulated',
    'capturing from simulated (capture button down: retrying)',
  ]);
  const doctor = await runAgentCli(['--config', config, 'doctor'], { env: process.env });
  assert.equal(doctor.code, 1, doctor.stdout + doctor.stderr);
  assert.match(
    doctor.stdout,
    /\[FAIL\] gpio button\s+down since \d{4}-\d\d-\d\dT[\d:.]+Z — sysfs GPIO 588 is not there [^\n]*\(the running agent's view: \d+ failed attempts?, next in [\d.]+ s\)\n\s+fix: stop whatever unexports it/,
    doctor.stdout,
  );

  // Exported again: the agent's retry opens it, with no restart.
  value = exportPiGpioLine(classDir, PI5_LINE.button, { direction: 'in', value: '1' });
  await waitFor(async () => agent.exited() || (await api.status()).capture_button.up, {
    what: 'the button re-opened by a retry',
    timeoutMs: 90_000,
  });
  const back = await api.status();
  assert.equal(back.capture_button.up, true, agent.output().slice(-3000));
  assert.equal(back.health.ok, true, back.health.reason);
  assert.equal(await api.metric('cti_agent_capture_button_up'), '1');
  assert.match(agent.output(), /"downForS":\d+.*"msg":"capture button up again: presses capture"/);
  await waitFor(() => statusLines(notify.messages).length >= 3, { what: 'the status line without it' });
  assert.equal(statusLines(notify.messages)[2], 'capturing from simulated');
  await pressCaptures(2);
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
});

test('gpiomon (no sysfs GPIO) exiting under a running agent: one exit is a blip and the button stays up; a second within a minute, down with its exit code and stderr in status and systemd’s status line; started again by a retry, up, a press captures', {
  timeout: 180_000,
}, async () => {
  const dir = tempDir('cti-gpiomon-lost-');
  const dataDir = join(dir, 'data');
  const tools = fakeGpiod('v1.6.3');
  cleanups.push(tools.remove);
  // The fake gpiomon and gpiodetect are the agent's, found on its PATH beside systemd-notify.
  const path = pathWithoutGpiod(cleanups);
  symlinkSync(tools.gpiomon, join(path, 'gpiomon'));
  symlinkSync(tools.gpiodetect, join(path, 'gpiodetect'));
  const s3 = await startS3rver();
  cleanups.push(s3.close);
  const config = writeAgentConfig(join(dir, 'agent.json'), {
    dataDir,
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    minFreeMb: 1,
    extra: {
      trigger: { kind: 'gpio', bcm: 17, debounce_ms: 20, lockout_ms: 500 },
      sysfs_root: join(dir, 'no-sysfs'),
    },
  });
  const notify = await startNotifySocket(join(dir, 'notify.sock'));
  cleanups.push(notify.close);
  const agent = startAgentRun(config, cleanups, { env: { PATH: path, NOTIFY_SOCKET: notify.path } });
  const api = await agentLocalApi(agent, dataDir);
  assert.equal((await api.status()).capture_button.up, true, agent.output().slice(-3000));

  tools.kill();
  await waitFor(
    () => agent.output().includes('"msg":"gpiomon running again after a blip: presses capture"'),
    {
      what: 'the restart holding',
      timeoutMs: 30_000,
    },
  );
  assert.equal((await api.status()).capture_button.up, true, 'a blip is no outage');
  assert.match(agent.output(), /"level":40.*"code":2.*"msg":"gpiomon exited: restarting it at once/);

  tools.kill();
  await waitFor(async () => agent.exited() || !(await api.status()).capture_button.up, {
    what: 'the button reported down',
    timeoutMs: 30_000,
  });
  const down = (await api.status()).capture_button;
  assert.equal(down.up, false, agent.output().slice(-3000));
  assert.match(
    down.error,
    /^gpiomon watching BCM 17 on gpiochip0 exited with code 2: "gpiomon: error waiting for events: No such device" \(again, \d+ s after its last exit\)\. Fix: free the line/,
  );
  assert.match(agent.output(), /"level":50.*"msg":"capture button stopped working/);

  await waitFor(async () => agent.exited() || (await api.status()).capture_button.up, {
    what: 'gpiomon started again by a retry',
    timeoutMs: 60_000,
  });
  assert.equal((await api.status()).capture_button.up, true, agent.output().slice(-3000));
  await waitFor(() => statusLines(notify.messages).length >= 3, { what: 'the status line back' });
  assert.deepEqual(statusLines(notify.messages), [
    'capturing from simulated',
    'capturing from simulated (capture button down: retrying)',
    'capturing from simulated',
  ]);
  tools.emit('0 17'); // falling: pressed (active low)
  await waitFor(async () => (await api.status()).trigger.presses === 1, {
    what: 'the press',
    timeoutMs: 20_000,
  });
  tools.emit('1 17');
  await waitForUploads(agent, s3, 1, { what: 'the capture of the press in the bucket' });
  assert.equal(await agent.stop(), 0, agent.output().slice(-3000));
});
