import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

// demo.sh (or a test) may stop it the moment it reads "local S3 listening": the handler must be in place
// by then, or the SIGTERM kills it outright instead of closing the server (exit code null).
test('a SIGTERM the instant "local S3 listening" is printed stops it with 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-local-s3-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [CLI, '--port', '0', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"local S3 listening"') && child.signalCode === null) child.kill('SIGTERM');
    });
  const [code, signal] = await once(child, 'close');
  assert.equal(signal, null, `killed by the SIGTERM itself (no handler yet):\n${output}`);
  assert.equal(code, 0, output);
});
