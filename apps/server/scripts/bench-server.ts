// The real `cti-server` for benchmarks: spawned from source on a free port, stopped with SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

export type BenchServer = { port: number; pid: number; stop: () => Promise<void> };

const DIST_MAIN = new URL('../dist/main.js', import.meta.url).pathname;

/**
 * Spawns `cti-server serve` with `env` added to this process's environment (LOG_LEVEL info: the port
 * is read from the 'listening' line) and `nodeFlags` (V8 flags, e.g. the image's ENTRYPOINT ones)
 * before the script. `dist: true` runs the compiled `dist/main.js serve` as the container does (build
 * the server first); otherwise the sources, through the .tsx load hook — whose type stripping and
 * module loading cost memory and start-up time production does not pay.
 */
export async function spawnServer(
  env: Record<string, string>,
  { nodeFlags = [], dist = false }: { nodeFlags?: readonly string[]; dist?: boolean } = {},
): Promise<BenchServer> {
  if (dist && !existsSync(DIST_MAIN))
    throw new Error(`${DIST_MAIN} is missing: build the server first (pnpm --filter @cti/server build)`);
  const child = spawn(
    process.execPath,
    dist
      ? [...nodeFlags, DIST_MAIN, 'serve']
      : [
          ...nodeFlags,
          // The .tsx load hook: the server's pages run from source too.
          '--import',
          new URL('./register-jsx.ts', import.meta.url).pathname,
          new URL('../src/main.ts', import.meta.url).pathname,
        ],
    {
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`cti-server exited with ${code}`)));
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'listening' && entry.port) resolve(entry.port);
    });
  });
  // From here on the access log is drained unread: parsing a line per request would load the
  // bench's own (shared) CPU.
  lines.close();
  child.stdout!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Idempotent: the bench stops the server before its in-process measurements, and again in `finally`.
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { port, pid: child.pid!, stop };
}

/** POSTs one signed webhook (a `signedInit` result) over keep-alive `agent`; resolves with the status. */
export function postWebhook(agent: Agent, port: number, init: RequestInit): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/ingest/webhook',
        method: 'POST',
        agent,
        headers: init.headers as Record<string, string>,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(init.body as string);
  });
}
