import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { waitFor } from '@cti/testkit';
import { startNotifySocket } from './test-support/notify-socket.ts';
import { fakeCapture, outboxIn, outboxTempDir } from './test-support/outbox-fixtures.ts';

const cli = join(import.meta.dirname, 'cli.ts');
const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

test('a new outbox database re-importing the spool at start tells systemd it makes progress (EXTEND_TIMEOUT_USEC, STATUS) before READY=1 (review r8 F1); SIGTERM the instant READY=1 arrives stops it with 0', {
  timeout: 90_000,
}, async () => {
  const t = outboxTempDir('cti-reimport-notify-');
  cleanups.push(t.remove);
  const dataDir = join(t.dir, 'data');
  const outbox = outboxIn(dataDir);
  for (const n of [1, 2, 3, 4, 5]) await outbox.commitCapture(fakeCapture(n));
  outbox.close();
  for (const name of ['outbox.db', 'outbox.db-wal', 'outbox.db-shm'])
    rmSync(join(dataDir, name), { force: true });

  // Like systemd stopping a unit that has just started: SIGTERM as soon as READY=1 is read. Before the
  // fix the agent installed its signal handlers after READY=1, and this killed it (exit code null).
  let agent: ReturnType<typeof spawn> | null = null;
  const notify = await startNotifySocket(join(t.dir, 'notify.sock'), {
    onMessage: (m) => {
      if (m.split('\n').includes('READY=1')) agent?.kill('SIGTERM');
    },
  });
  cleanups.push(notify.close);
  const config = join(t.dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      device_code: 'dev-test',
      data_dir: dataDir,
      source: { kind: 'simulated', fps: 5, width: 64, height: 48, pattern: 'synthetic' },
      trigger: { kind: 'none' },
      hint: { enabled: false },
      http: { port: 0 },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
    }),
  );
  const spawned = spawn(process.execPath, [cli, '--config', config, 'run'], {
    env: { ...process.env, NOTIFY_SOCKET: notify.path, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  agent = spawned;
  spawned.stdout.on('data', (c: Buffer) => logs.push(c.toString()));
  spawned.stderr.on('data', (c: Buffer) => logs.push(c.toString()));
  const exited = new Promise<number | null>((resolve) => spawned.once('exit', (code) => resolve(code)));
  cleanups.push(() => spawned.exitCode === null && spawned.kill('SIGKILL'));

  const ready = () => notify.messages.findIndex((m) => m.split('\n').includes('READY=1'));
  await waitFor(() => ready() >= 0, { what: 'READY=1', timeoutMs: 60_000 });
  const extended = notify.messages.findIndex((m) => m.split('\n').includes('EXTEND_TIMEOUT_USEC=60000000'));
  assert.ok(extended >= 0 && extended < ready(), `messages: ${JSON.stringify(notify.messages)}`);
  assert.match(
    notify.messages[extended]!,
    /\nSTATUS=re-importing 0 of 5 captures \(a new outbox database; the spool files are checked\)$/,
  );
  assert.match(logs.join(''), /re-imported the complete captures found in the spool as pending/);
  assert.equal(await exited, 0, logs.join(''));
});
