#!/usr/bin/env node
// pnpm bench:capture — 200 captures from the emulated serial probe (a separate emulator process on a
// socat PTY pair): press → durable outbox commit latency p50/p99 and peak RSS. Prints figures; not a test.
//   node scripts/bench-capture.ts [--captures 200] [--hint] [--width 640 --height 480 --fps 15] [--format png|jpeg]
//                                 [--spacing ms] [--pattern phantom|synthetic]
// 640×480 @ 15 fps is 4.6 MB/s on the link: a stress rate (a real CDC-ACM probe carries ~1 MB/s, ~3 fps).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '@cti/runtime';
import { createAgent } from '../src/agent.ts';
import { loadHint } from '../src/capture/hint.ts';
import { resolveConfig } from '../src/config/agent-config.ts';
import { readFirmware } from '../src/device/firmware.ts';
import { createSerialSource } from '../src/frames/serial-source.ts';
import { createOutbox } from '../src/outbox/index.ts';

const { values } = parseArgs({
  options: {
    captures: { type: 'string', default: '200' },
    hint: { type: 'boolean', default: false },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '480' },
    fps: { type: 'string', default: '15' },
    format: { type: 'string', default: 'png' },
    pattern: { type: 'string', default: 'phantom' },
    // ms between presses; default: one frame interval + 50 ms, so every press has a new frame.
    spacing: { type: 'string' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cti-bench-capture-'));
const link = join(dir, 'probe');
let peakSampledRss = 0;
const sampler = setInterval(() => {
  peakSampledRss = Math.max(peakSampledRss, process.memoryUsage.rss());
}, 20);

const emulator: ChildProcess = spawn(
  process.execPath,
  [
    join(here, 'probe-emulator.ts'),
    '--link',
    link,
    '--width',
    values.width,
    '--height',
    values.height,
    '--fps',
    values.fps,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
await new Promise<void>((resolve) => emulator.stdout!.once('data', () => resolve()));

const config = resolveConfig({
  device_code: 'bench-0001',
  data_dir: dir,
  source: { kind: 'serial', path: link },
  upload: { bucket: 'cti-bench', enabled: false },
  outbox: { min_free_mb: 10 },
  capture: { format: values.format },
});
const outbox = createOutbox({
  dbPath: config.paths.outboxDb,
  spoolDir: config.paths.spoolDir,
  minFreeBytes: config.outbox.minFreeBytes,
});
const source = createSerialSource({ path: link });
const hint = values.hint ? await loadHint({ log: silentLogger() }) : null;
if (values.hint && !hint)
  process.stderr.write('--hint given but the hint model is unavailable: measuring without it\n');
const agent = createAgent({
  config,
  source,
  outbox,
  hint,
  clockStatus: () => ({ synced: false, source: 'unknown' }),
  firmware: readFirmware(),
});
await agent.start();
// Not @cti/testkit's waitFor: importing it loads s3rver (~50 MB RSS) into the measured process.
for (const deadline = Date.now() + 20_000; source.status().frames < 10; ) {
  if (Date.now() > deadline) {
    process.stderr.write(
      `no frames from the emulated probe within 20 s: ${JSON.stringify(source.status())}\n`,
    );
    emulator.kill('SIGTERM');
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 50));
}

const n = Number(values.captures);
const spacingMs = values.spacing
  ? Number(values.spacing)
  : Math.max(150, Math.ceil(1000 / Number(values.fps)) + 50);
const latencies: number[] = [];
const stages: Record<string, number[]> = { select: [], encode: [], meta: [], commit: [] };
const refusals: Record<string, number> = {};
const started = performance.now();
for (let i = 0; i < n; i++) {
  const result = await agent.capture(performance.now(), 'bench');
  if (result.status === 'captured') {
    latencies.push(result.latencyMs);
    for (const [k, v] of Object.entries(result.stagesMs)) stages[k]!.push(v);
  } else refusals[result.reason] = (refusals[result.reason] ?? 0) + 1;
  await new Promise((r) => setTimeout(r, spacingMs));
}
const wallS = (performance.now() - started) / 1000;
const mem = process.memoryUsage();
const status = source.status();
await agent.stop();
outbox.close();
emulator.kill('SIGTERM');
clearInterval(sampler);

const pct = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const sorted = [...latencies].sort((a, b) => a - b);
const q = (p: number) => pct(latencies, p);
const stageLine = Object.entries(stages)
  .map(([k, v]) => `${k} ${pct(v, 50).toFixed(1)}/${pct(v, 99).toFixed(1)}`)
  .join(', ');
const ms = (v: number) => `${v.toFixed(1)} ms`;
const peakRss = Math.max(peakSampledRss, process.resourceUsage().maxRSS * 1024);
const target = hint ? 150 : 100;
const lines = [
  `capture bench: ${n} presses, ${values.width}×${values.height} gray @ ${values.fps} fps over a socat PTY, ${values.format}, hint ${hint ? 'on' : 'off'}`,
  `  captured ${latencies.length}, refused ${JSON.stringify(refusals)}, ${wallS.toFixed(1)} s`,
  `  press→durable commit: p50 ${ms(q(50))}  p90 ${ms(q(90))}  p99 ${ms(q(99))}  max ${ms(sorted.at(-1) ?? Number.NaN)}  (target p99 ≤ ${target} ms: ${q(99) <= target ? 'met' : 'MISSED'})`,
  `  stages p50/p99 ms: ${stageLine}`,
  `  peak RSS ${(peakRss / 1024 / 1024).toFixed(1)} MB (target ≤ 150 MB: ${peakRss <= 150 * 1024 * 1024 ? 'met' : 'MISSED'})`,
  `  at end: heapUsed ${(mem.heapUsed / 1048576).toFixed(0)} MB, heapTotal ${(mem.heapTotal / 1048576).toFixed(0)} MB, external ${(mem.external / 1048576).toFixed(0)} MB, rss ${(mem.rss / 1048576).toFixed(0)} MB`,
  `  probe link: ${status.frames} frames, ${status.droppedFrames} dropped, ${JSON.stringify(status.detail)}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
