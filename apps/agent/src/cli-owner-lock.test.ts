import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@cti/testkit';
import { createOutbox } from './outbox/outbox.ts';
import { runAgentCli } from './test-support/run-cli.ts';

const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const runCli = (args: string[], timeoutMs = 30_000) => runAgentCli(args, { timeoutMs });

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function writeConfig(dir: string, port: number): string {
  const config = join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify({
      device_code: 'dev-0001',
      data_dir: join(dir, 'data'),
      source: { kind: 'simulated', fps: 20, width: 64, height: 48, pattern: 'synthetic' },
      trigger: { kind: 'none' },
      hint: { enabled: false },
      capture: { quality_gate: { enabled: false }, max_pending: 8 },
      http: { port },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
    }),
  );
  return config;
}

function startService(config: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [cli, '--config', config, 'run'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

test('a second `cti-agent run` beside the service exits 1 naming the owner, deletes nothing, and read-only commands still work', {
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-owner-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = writeConfig(dir, 0);
  const service = startService(config);
  cleanups.push(() => service.child.kill('SIGKILL'));
  const runtimeFile = join(dir, 'data', 'agent-http.json');
  await waitFor(() => existsSync(runtimeFile), { what: 'the service ready', timeoutMs: 60_000 });
  const { port } = JSON.parse(readFileSync(runtimeFile, 'utf8')) as { port: number };

  // Captures committed all along, as in the reviewer's reproduction (3 destroyed in 20 starts).
  const taken: string[] = [];
  let pressing = true;
  const presser = (async () => {
    while (pressing) {
      const res = await fetch(`http://127.0.0.1:${port}/capture`, { method: 'POST' });
      const body = (await res.json()) as { captureId?: string };
      if (res.status === 201 && body.captureId) taken.push(body.captureId);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();

  const dataDir = join(dir, 'data');
  const owner = `another cti-agent run owns ${dataDir} (pid ${service.child.pid})`;
  for (let i = 0; i < 4; i++) {
    const second = await runCli(['--config', config, 'run'], 20_000);
    assert.equal(second.code, 1, `second run: ${second.code} ${second.stderr}`);
    assert.ok(second.stderr.startsWith(`cti-agent: ${owner}; nothing was opened.`), second.stderr);
    assert.doesNotMatch(second.stderr, /\n\s+at |EADDRINUSE/);
  }
  const status = await runCli(['--config', config, 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(JSON.parse(status.stdout).service, 'running');
  const list = await runCli(['--config', config, 'outbox', 'list']);
  assert.equal(list.code, 0, list.stderr);

  pressing = false;
  await presser;
  service.child.kill('SIGTERM');
  assert.equal(await service.exited, 0, 'the service stops cleanly');
  assert.ok(taken.length >= 10, `${taken.length} captures taken meanwhile`);
  const outbox = createOutbox({
    dbPath: join(dataDir, 'outbox.db'),
    spoolDir: join(dataDir, 'spool'),
    access: 'readonly',
    owner: false,
  });
  try {
    for (const id of taken) {
      assert.equal(outbox.show(id)?.state, 'pending', id);
      assert.ok(readdirSync(join(dataDir, 'spool', id)).includes('meta.json'), `${id} files in the spool`);
    }
  } finally {
    outbox.close();
  }
});

// Tests, `cti-agent` subcommands and operators act the moment the runtime file exists: it must be
// whole then (not an empty file being written), and a SIGTERM then must stop the service, not kill it.
test('the instant the runtime file appears it is whole, and a SIGTERM sent then stops `run` with 0', {
  timeout: 90_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-runtime-file-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const runtimeFile = join(dataDir, 'agent-http.json');
  const config = writeConfig(dir, 0);
  let service: ReturnType<typeof startService> | undefined;
  let seen: string | undefined;
  const watcher = watch(dataDir, (_event, name) => {
    if (name !== 'agent-http.json' || seen !== undefined || !existsSync(runtimeFile)) return;
    seen = readFileSync(runtimeFile, 'utf8');
    service?.child.kill('SIGTERM');
  });
  cleanups.push(() => watcher.close());
  service = startService(config);
  cleanups.push(() => service.child.kill('SIGKILL'));
  const code = await service.exited;
  assert.equal(service.child.signalCode, null, 'killed by the SIGTERM itself: no handler yet');
  assert.equal(code, 0);
  assert.notEqual(seen, undefined, 'the runtime file was written');
  const { port, pid } = JSON.parse(seen!) as { port: number; pid: number };
  assert.ok(port > 0, seen);
  assert.equal(pid, service.child.pid);
  assert.equal(existsSync(runtimeFile), false, 'removed on stop');
});

test('the owner lock dies with its process (kill -9): the next `run` starts', {
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-owner-kill-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = writeConfig(dir, 0);
  const runtimeFile = join(dir, 'data', 'agent-http.json');
  const first = startService(config);
  cleanups.push(() => first.child.kill('SIGKILL'));
  await waitFor(() => existsSync(runtimeFile), { what: 'the first run ready', timeoutMs: 60_000 });
  first.child.kill('SIGKILL');
  await first.exited;
  rmSync(runtimeFile); // stale, as a kill leaves it: wait for the new one
  const second = startService(config);
  cleanups.push(() => second.child.kill('SIGKILL'));
  await waitFor(() => existsSync(runtimeFile), { what: 'the run after kill -9 ready', timeoutMs: 60_000 });
  const { pid } = JSON.parse(readFileSync(runtimeFile, 'utf8')) as { pid: number };
  assert.equal(pid, second.child.pid);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('the local port taken by another program: `run` exits 1 naming it before the outbox is opened', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-port-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => squatter.close());
  const port = (squatter.address() as { port: number }).port;
  const run = await runCli(['--config', writeConfig(dir, port), 'run'], 20_000);
  assert.equal(run.code, 1, `${run.code} ${run.stderr}`);
  assert.match(
    run.stderr,
    new RegExp(`^cti-agent: the local API cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
  );
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  assert.equal(existsSync(join(dir, 'data', 'outbox.db')), false, 'the outbox was never opened');
});
