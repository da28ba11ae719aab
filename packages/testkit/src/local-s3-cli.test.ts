import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('./local-s3-cli.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

test('--help and -h print the usage on stdout and exit 0, without starting a server', () => {
  for (const flag of ['--help', '-h']) {
    const r = run([flag]);
    assert.equal(r.status, 0, `${flag}: ${r.stderr}`);
    assert.match(r.stdout, /^usage: cti-local-s3 \[--port 4569\]/, flag);
    assert.equal(r.stderr, '', flag);
  }
});

test('bad arguments: one line naming the problem, the usage, exit 2, no stack trace', () => {
  for (const [args, problem] of [
    [['--frobnicate'], /^cti-local-s3: Unknown option '--frobnicate'/],
    [['--port'], /^cti-local-s3: Option '--port <value>' argument missing/],
    [['extra'], /^cti-local-s3: Unexpected argument 'extra'/],
    [['--port', 'abc'], /^cti-local-s3: --port must be an integer 0-65535, got "abc"/],
    [['--port', ''], /^cti-local-s3: --port must be an integer 0-65535, got ""/],
  ] as const) {
    const r = run([...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, problem, args.join(' '));
    assert.match(r.stderr, /\nusage: cti-local-s3 /, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')}: no stack trace`);
    assert.equal(r.stdout, '', args.join(' '));
  }
});

test('a port already in use: one line naming it, exit 1, no stack trace', async (t) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const r = spawnSync(process.execPath, [CLI, '--port', String(port)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^cti-local-s3: cannot start: .*EADDRINUSE.*${port}`));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
