import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commandOf, healthUrl } from './container-healthcheck.ts';

const SCRIPT = fileURLToPath(new URL('./container-healthcheck.ts', import.meta.url));

test('the command is the argument after main.js; none means serve', () => {
  assert.equal(commandOf(['node', 'dist/main.js', 'worker']), 'worker');
  assert.equal(commandOf(['node', '/app/apps/server/dist/main.js', 'serve', '--x']), 'serve');
  assert.equal(commandOf(['node', 'dist/main.js']), 'serve');
  assert.equal(commandOf(['/usr/local/bin/node', 'src/main.ts', 'worker']), 'worker');
});

test('a worker is probed on CTI_WORKER_PORT (default 9464), the server on PORT (default 8080)', () => {
  const worker = ['node', 'dist/main.js', 'worker'];
  const server = ['node', 'dist/main.js', 'serve'];
  assert.equal(healthUrl(worker, {}).href, 'http://127.0.0.1:9464/healthz');
  assert.equal(
    healthUrl(worker, { CTI_WORKER_PORT: '9500', PORT: '8081' }).href,
    'http://127.0.0.1:9500/healthz',
  );
  assert.equal(healthUrl(server, {}).href, 'http://127.0.0.1:8080/healthz');
  assert.equal(
    healthUrl(server, { CTI_WORKER_PORT: '9500', PORT: '8081' }).href,
    'http://127.0.0.1:8081/healthz',
  );
});

/** Runs the health check as the image does, with PID 1's command line taken from a file. */
async function runCheck(
  cmdline: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cti-healthcheck-'));
  const file = join(dir, 'cmdline');
  writeFileSync(file, `${cmdline.join('\0')}\0`);
  const child = spawn(process.execPath, [SCRIPT], {
    env: { PATH: process.env.PATH, CTI_HEALTHCHECK_CMDLINE: file, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, stderr };
}

test('the check exits 0 when the right port answers /healthz 200, 1 (naming the URL) on 503 or on nothing listening', async () => {
  let status = 200;
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = String((server.address() as AddressInfo).port);
  try {
    const worker = ['node', 'dist/main.js', 'worker'];
    assert.equal((await runCheck(worker, { CTI_WORKER_PORT: port, PORT: '1' })).code, 0);
    assert.deepEqual(paths, ['/healthz']);
    status = 503;
    const unhealthy = await runCheck(worker, { CTI_WORKER_PORT: port });
    assert.equal(unhealthy.code, 1);
    assert.match(unhealthy.stderr, new RegExp(`127\\.0\\.0\\.1:${port}/healthz answered 503`));
    // The server's command line is probed on PORT: the worker's port is not asked.
    const server503 = await runCheck(['node', 'dist/main.js'], { PORT: port, CTI_WORKER_PORT: '1' });
    assert.equal(server503.code, 1);
    assert.equal(paths.length, 3);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const nothing = await runCheck(['node', 'dist/main.js', 'worker'], { CTI_WORKER_PORT: port });
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /healthcheck: http:\/\/127\.0\.0\.1:\d+\/healthz: /);
});
