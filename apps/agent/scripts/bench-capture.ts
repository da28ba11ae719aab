#!/usr/bin/env node
// pnpm bench:capture — measures what ships: the compiled agent (apps/agent/dist/cli.js `run`, built
// first) in its own process, started with the Node flags and environment of
// infra/systemd/cti-agent.service, fed by the emulated serial probe (a separate emulator process on a
// socat PTY pair). Captures are triggered through the local HTTP endpoint `cti-agent capture` uses (a
// press: the handler stamps the press time and returns after the durable outbox commit).
// Figures: press→durable-commit latency p50/p99 as the agent measures it, the client round trip, and
// the agent process's peak RSS (VmHWM from /proc/<pid>/status, plus VmRSS sampled every 20 ms).
// This bench process itself (TypeScript, the emulator driver) is not measured. Prints figures; not a test.
//   node scripts/bench-capture.ts [--captures 200] [--hint] [--source serial|simulated] [--upload]
//     [--width 640 --height 480 --fps 15] [--format png|jpeg] [--spacing ms] [--pattern phantom|synthetic]
//     [--ring-ms 2000] [--skip-build] [--node-flag=--some-v8-flag ...] [--env NAME=value ...]
// 640×480 @ 15 fps is 4.6 MB/s on the link: a stress rate (a real CDC-ACM probe carries ~1 MB/s, ~3 fps).
// --source simulated: no emulator; the agent's own simulated probe (phantom clip) — the demo setup.
// --upload: the agent uploads to a local s3rver (started in this process) while capturing.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// `pnpm bench:capture -- --hint` forwards the `--` itself.
const argv = process.argv.slice(2);
const { values } = parseArgs({
  args: argv[0] === '--' ? argv.slice(1) : argv,
  options: {
    captures: { type: 'string', default: '200' },
    hint: { type: 'boolean', default: false },
    source: { type: 'string', default: 'serial' },
    upload: { type: 'boolean', default: false },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '480' },
    fps: { type: 'string', default: '15' },
    format: { type: 'string', default: 'png' },
    pattern: { type: 'string', default: 'phantom' },
    // ms between presses; default: one frame interval + 50 ms, so every press has a new frame.
    spacing: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    // capture.ring_ms for the agent (default: the config default, 2000).
    'ring-ms': { type: 'string' },
    // Extra Node/V8 flags for the agent process, after the unit's (experiments: --node-flag=--jitless).
    'node-flag': { type: 'string', multiple: true, default: [] },
    // Extra environment for the agent process, after the unit's (experiments: --env MALLOC_TOP_PAD_=0).
    env: { type: 'string', multiple: true, default: [] },
  },
});
if (values.source !== 'serial' && values.source !== 'simulated')
  throw new Error(`--source must be serial or simulated, got ${values.source}`);

const here = dirname(fileURLToPath(import.meta.url));
const agentDir = join(here, '..');
const unitFile = join(agentDir, '../../infra/systemd/cti-agent.service');
const cli = join(agentDir, 'dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'cti-bench-capture-'));
const children: ChildProcess[] = [];
const cleanup: (() => Promise<void>)[] = [];
const fail = (message: string): never => {
  process.stderr.write(`bench:capture: ${message}\n`);
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => fail(`stopped by ${signal}`));

/** The unit's ExecStart Node flags and Environment= pairs, so the bench cannot drift from systemd. */
function unitRuntime(path: string): { nodeFlags: string[]; env: Record<string, string> } {
  const text = readFileSync(path, 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  const script = exec.findIndex((a) => a.endsWith('cli.js'));
  if (script < 1) fail(`${path}: ExecStart does not run <node> [flags] .../cli.js`);
  const env: Record<string, string> = {};
  for (const [, line] of text.matchAll(/^Environment=(.*)$/gm)) {
    for (const pair of line!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return { nodeFlags: exec.slice(1, script), env };
}

/** VmRSS / VmHWM of a live process in bytes (null once it has exited). */
function procMemory(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident MB by mapping (node binary, [heap] = malloc, anonymous = V8 heap and mmapped buffers, libraries). */
function residentByMapping(pid: number): string {
  const byName = new Map<string, number>();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) name = head[1]?.split('/').at(-1) || '(anonymous)';
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) byName.set(name, (byName.get(name) ?? 0) + Number(rss[1]));
  }
  return [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, kb]) => `${k} ${(kb / 1024).toFixed(1)}`)
    .join(', ');
}

async function until<T>(what: string, fn: () => T | null | undefined | Promise<T | null | undefined>) {
  for (const deadline = Date.now() + 60_000; ; ) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) return fail(`timed out after 60 s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (!values['skip-build']) {
  // Only the agent itself: the root script has built its workspace dependencies already.
  const build = spawnSync('pnpm', ['--filter', '@cti/agent', 'build'], { stdio: ['ignore', 2, 2] });
  if (build.status !== 0) fail('building @cti/agent failed (see above)');
}
if (!existsSync(cli)) fail(`${cli} is missing: build @cti/agent first`);
const unit = unitRuntime(unitFile);

async function startEmulator(link: string): Promise<void> {
  const emulator = spawn(
    process.execPath,
    [
      join(here, 'probe-emulator.ts'),
      '--link',
      link,
      '--width',
      values.width,
      '--height',
      values.height,
    ].concat(['--fps', values.fps, '--pattern', values.pattern]),
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(emulator);
  emulator.once('exit', (code) => code && fail(`probe emulator exited with ${code}`));
  await new Promise<void>((resolve) => emulator.stdout!.once('data', () => resolve()));
}

async function startUpload(): Promise<Record<string, unknown>> {
  const { startS3rver } = await import('@cti/testkit');
  const s3 = await startS3rver({ buckets: ['cti-bench'] });
  cleanup.push(() => s3.close());
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  return { bucket: 'cti-bench', enabled: true, endpoint: s3.endpoint };
}

const link = join(dir, 'probe');
if (values.source === 'serial') await startEmulator(link);
const source =
  values.source === 'serial'
    ? { kind: 'serial', path: link }
    : {
        kind: 'simulated',
        width: Number(values.width),
        height: Number(values.height),
        fps: Number(values.fps),
        pattern: values.pattern,
      };
const configPath = join(dir, 'agent.json');
writeFileSync(
  configPath,
  JSON.stringify({
    device_code: 'bench-0001',
    data_dir: join(dir, 'data'),
    source,
    trigger: { kind: 'none' },
    http: { port: 0 },
    hint: { enabled: values.hint },
    upload: values.upload ? await startUpload() : { bucket: 'cti-bench', enabled: false },
    outbox: { min_free_mb: 10 },
    capture: {
      format: values.format,
      ...(values['ring-ms'] ? { ring_ms: Number(values['ring-ms']) } : {}),
    },
  }),
);

const agent = spawn(
  process.execPath,
  [...unit.nodeFlags, ...values['node-flag'], cli, '--config', configPath, 'run'],
  {
    env: { ...process.env, ...unit.env, ...Object.fromEntries(values.env.map((kv) => kv.split(/=(.*)/s))) },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
children.push(agent);
const pid = agent.pid!;
const logTail: string[] = [];
const logEvents = new Set<string>();
for (const stream of [agent.stdout!, agent.stderr!]) {
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      logTail.push(line);
      if (logTail.length > 20) logTail.shift();
      const msg = /"msg":"([^"]*)"/.exec(line)?.[1];
      if (msg) logEvents.add(msg);
    }
  });
}
let exited: number | string | null = null;
agent.once('exit', (code, signal) => {
  exited = code ?? signal;
});
let peakSampledRss = 0;
const sampler = setInterval(() => {
  peakSampledRss = Math.max(peakSampledRss, procMemory(pid)?.rss ?? 0);
}, 20);

const runtimeFile = join(dir, 'data', 'agent-http.json');
const base = await until('the agent to listen (its runtime file)', () => {
  if (exited !== null) fail(`the agent exited (${exited}) at start:\n${logTail.join('\n')}`);
  if (!existsSync(runtimeFile)) return null;
  const { host, port } = JSON.parse(readFileSync(runtimeFile, 'utf8')) as { host: string; port: number };
  return `http://${host}:${port}`;
});
type AgentStatus = {
  hint: string;
  source: { frames: number; droppedFrames: number; detail: Record<string, unknown> };
  memory?: Record<string, number>;
};
type CaptureReply =
  | { status: 'captured'; latencyMs: number; stagesMs: Record<string, number> }
  | { status: 'refused'; reason: string }
  | { status?: undefined; error?: string };
const getStatus = async () => (await (await fetch(`${base}/status`)).json()) as AgentStatus;
await until('10 frames from the probe', async () => (await getStatus()).source.frames >= 10);
if (values.source === 'simulated' && values.pattern === 'phantom')
  await until('the simulated phantom clip', () => logEvents.has('simulated probe: phantom clip ready'));
const hintState = (await getStatus()).hint;
if (values.hint && hintState !== 'loaded')
  process.stderr.write('--hint given but the agent has no hint model: measuring without it\n');
const idle = procMemory(pid)!;
const idleV8 = (await getStatus()).memory;
const idleMaps = residentByMapping(pid);
const cpuBefore = cpuSeconds(pid);

const n = Number(values.captures);
const spacingMs = values.spacing
  ? Number(values.spacing)
  : Math.max(150, Math.ceil(1000 / Number(values.fps)) + 50);
const latencies: number[] = [];
const roundTrips: number[] = [];
const stages: Record<string, number[]> = { select: [], encode: [], meta: [], commit: [] };
const refusals: Record<string, number> = {};
const started = performance.now();
for (let i = 0; i < n; i++) {
  const t0 = performance.now();
  const res = await fetch(`${base}/capture`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  const result = (await res.json()) as CaptureReply;
  roundTrips.push(performance.now() - t0);
  if (result.status === 'captured') {
    latencies.push(result.latencyMs);
    for (const [k, v] of Object.entries(result.stagesMs)) stages[k]!.push(v);
  } else if (result.status === 'refused') refusals[result.reason] = (refusals[result.reason] ?? 0) + 1;
  else fail(`capture ${i} failed (HTTP ${res.status}): ${JSON.stringify(result)}`);
  await new Promise((r) => setTimeout(r, spacingMs));
}
const wallS = (performance.now() - started) / 1000;
const cpuS = cpuSeconds(pid) - cpuBefore;
const status = await getStatus();
const end = procMemory(pid)!;
const endMaps = residentByMapping(pid);
clearInterval(sampler);
const stopStarted = performance.now();
agent.kill('SIGTERM');
await until('the agent to stop on SIGTERM', () => exited !== null);
const stopMs = performance.now() - stopStarted;
for (const c of children) {
  if (c === agent || c.exitCode !== null) continue;
  const gone = new Promise((resolve) => c.once('exit', resolve));
  c.kill('SIGTERM');
  await gone; // the emulator's socat removes its PTY links in `dir` on the way out
}
for (const close of cleanup) await close();

const pct = (v: number[], p: number) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const ms = (v: number) => `${v.toFixed(1)} ms`;
const mb = (v: number) => `${(v / 1048576).toFixed(1)} MB`;
const q = (p: number) => pct(latencies, p);
const stageLine = Object.entries(stages)
  .map(([k, v]) => `${k} ${pct(v, 50).toFixed(1)}/${pct(v, 99).toFixed(1)}`)
  .join(', ');
const hintOn = hintState === 'loaded';
const target = hintOn ? 150 : 100;
const peak = Math.max(end.hwm, peakSampledRss);
const lines = [
  `capture bench: ${n} presses over HTTP to the compiled agent (dist/cli.js run, pid ${pid}), ` +
    `${values.source === 'serial' ? 'serial probe over a socat PTY' : `simulated ${values.pattern} source`}, ` +
    `${values.width}×${values.height} gray @ ${values.fps} fps, ${values.format}, hint ${hintOn ? 'on' : 'off'}, upload ${values.upload ? 's3rver' : 'off'}`,
  `  node ${[...unit.nodeFlags, ...values['node-flag']].join(' ')}; env ${[...Object.entries(unit.env).map(([k, v]) => `${k}=${v}`), ...values.env].join(' ')}`,
  `  captured ${latencies.length}, refused ${JSON.stringify(refusals)}, ${wallS.toFixed(1)} s; agent CPU ${cpuS.toFixed(1)} s (${((100 * cpuS) / wallS).toFixed(0)} % of one core, frames + captures)`,
  `  press→durable commit: p50 ${ms(q(50))}  p90 ${ms(q(90))}  p99 ${ms(q(99))}  max ${ms(pct(latencies, 100))}  (target p99 ≤ ${target} ms: ${q(99) <= target ? 'met' : 'MISSED'})`,
  `  HTTP round trip (client): p50 ${ms(pct(roundTrips, 50))}  p99 ${ms(pct(roundTrips, 99))}`,
  `  stages p50/p99 ms: ${stageLine}`,
  `  agent peak RSS ${mb(peak)} (VmHWM ${mb(end.hwm)}, sampled max ${mb(peakSampledRss)}; target ≤ 150 MB: ${peak <= 150 * 1048576 ? 'met' : 'MISSED'})`,
  `  agent RSS idle before captures ${mb(idle.rss)}, at end ${mb(end.rss)}; stopped on SIGTERM in ${ms(stopMs)} (exit ${exited})`,
  `  agent process.memoryUsage (MiB) idle ${JSON.stringify(idleV8)}, at end ${JSON.stringify(status.memory)}`,
  `  resident MB by mapping idle: ${idleMaps}`,
  `  resident MB by mapping at end: ${endMaps}`,
  `  source: ${status.source.frames} frames, ${status.source.droppedFrames} dropped, ${JSON.stringify(status.source.detail)}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
process.exit(exited === 0 ? 0 : 1);
