// Start-up of `cti-server worker` as the image runs it (node dist/main.js, no source hooks): prints the
// time from spawn to its "listening" (health port up, models loaded) and "worker started" (claiming)
// log lines, its RSS once started and after STARTUP_IDLE_MS idle, and the modules it loaded — the
// median of STARTUP_RUNS runs. Prints figures, asserts nothing. `pnpm bench:worker-startup` builds first.
//   pnpm bench:worker-startup   (STARTUP_MAIN=path/to/main.js compares another build)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { createTestDatabase } from '@cti/db/testing';

const RUNS = Number(process.env.STARTUP_RUNS ?? 5);
const IDLE_MS = Number(process.env.STARTUP_IDLE_MS ?? 2000);
const MAIN = process.env.STARTUP_MAIN ?? new URL('../dist/main.js', import.meta.url).pathname;

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

type Run = { listeningMs: number; startedMs: number; rssStarted: number; rssIdle: number };

async function once(env: Record<string, string>): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [MAIN, 'worker'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = new Map<string, number>();
  const started = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = (JSON.parse(line) as { msg?: string }).msg ?? '';
      if (!seen.has(msg)) seen.set(msg, performance.now() - t0);
      if (msg === 'worker started') resolve();
    });
  });
  await started;
  const rssStarted = rssMiB(child.pid!);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rssIdle = rssMiB(child.pid!);
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { listeningMs: seen.get('listening')!, startedMs: seen.get('worker started')!, rssStarted, rssIdle };
}

/** Every file: URL a worker loads until it claims (one extra run with a load hook that reports them). */
async function loadedModules(env: Record<string, string>): Promise<string[]> {
  const hook = `import { registerHooks } from 'node:module';
registerHooks({ load(url, context, next) { if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n'); return next(url, context); } });`;
  const child = spawn(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, MAIN, 'worker'],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const urls: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.startsWith('LOADED ')) urls.push(line.slice(7));
  });
  await new Promise<void>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if ((JSON.parse(line) as { msg?: string }).msg === 'worker started') resolve();
    });
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return urls;
}

const db = await createTestDatabase({ max: 1, asyncCommit: false });
try {
  const env = {
    DATABASE_URL: db.url,
    CTI_S3_BUCKETS: 'cti-dev-406214277746',
    S3_ENDPOINT: 'http://127.0.0.1:9',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'x',
    AWS_SECRET_ACCESS_KEY: 'x',
    CTI_WORKER_HOST: '127.0.0.1',
    CTI_WORKER_PORT: '0',
    CTI_WORKER_POLL_MS: '60000',
    MALLOC_ARENA_MAX: '2',
    NODE_ENV: 'production',
  };
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(env));
  const loaded = await loadedModules(env);
  const pick = (k: keyof Run) => median(runs.map((r) => r[k]));
  console.log(
    `cti-server worker start-up (node dist/main.js, median of ${RUNS}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`  to "listening" (models loaded, /healthz up): ${pick('listeningMs').toFixed(0)} ms`);
  console.log(`  to "worker started" (claiming):              ${pick('startedMs').toFixed(0)} ms`);
  console.log(
    `  RSS when started: ${pick('rssStarted').toFixed(1)} MiB; after ${IDLE_MS} ms idle: ${pick('rssIdle').toFixed(1)} MiB`,
  );
  console.log(
    `  modules loaded by then: ${loaded.length} (${loaded.filter((u) => u.includes('/web/')).length} of the dashboard's src/web, ${loaded.filter((u) => /\/(hono\/dist\/(cjs|)\/?jsx|markdown-it)\//.test(u)).length} of hono/jsx + markdown-it)`,
  );
} finally {
  await db.drop();
}
