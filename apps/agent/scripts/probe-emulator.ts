#!/usr/bin/env node
// Probe emulator: speaks docs/probe-protocol.md over a socat PTY pair, for the demo, tests and bench.
//   node scripts/probe-emulator.ts --link /tmp/cti-probe [--width 640 --height 480 --fps 10 --seed 1]
//                                  [--pattern phantom|synthetic] [--clip-frames 12]
// The agent opens --link (set "source": { "kind": "serial", "path": "/tmp/cti-probe" }); the emulator
// opens the other end (<link>.emu). Or pass --path <existing device end> to skip socat.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createPhantomLoop } from '../src/frames/phantom-loop.ts';
import { createProbeEmulator } from '../src/probe-emulator/probe-emulator.ts';

const { values } = parseArgs({
  options: {
    link: { type: 'string' },
    path: { type: 'string' },
    width: { type: 'string', default: '640' },
    height: { type: 'string', default: '480' },
    fps: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    model: { type: 'string', default: 'EMU-Convex-3.5' },
    pattern: { type: 'string', default: 'phantom' },
    'clip-frames': { type: 'string', default: '16' },
  },
});

async function waitForPath(path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`socat did not create ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let socat: ChildProcess | null = null;
let devicePath = values.path;
if (!devicePath) {
  if (!values.link) throw new Error('pass --link <path the agent opens> or --path <device end of a PTY>');
  devicePath = `${values.link}.emu`;
  socat = spawn('socat', [`pty,raw,echo=0,link=${values.link}`, `pty,raw,echo=0,link=${devicePath}`], {
    stdio: 'inherit',
  });
  await waitForPath(values.link);
  await waitForPath(devicePath);
}

// Phantom frames from @cti/imaging (rendered once into a short clip before streaming starts), or the
// cheap synthetic generator with --pattern synthetic.
const width = Number(values.width);
const height = Number(values.height);
let framePixels: ((n: number) => Uint8Array) | undefined;
if (values.pattern === 'phantom') {
  const loop = createPhantomLoop({
    width,
    height,
    seed: Number(values.seed),
    frames: Number(values['clip-frames']),
  });
  await loop.ready;
  if (loop.error()) throw loop.error();
  framePixels = loop.pixels;
}

const emulator = createProbeEmulator({
  framePixels,
  path: devicePath,
  width,
  height,
  fps: Number(values.fps),
  seed: Number(values.seed),
  model: values.model,
});
await emulator.start();

const stop = async () => {
  await emulator.stop();
  socat?.kill('SIGTERM');
  process.stderr.write(`probe emulator stopped: ${JSON.stringify(emulator.stats())}\n`);
  process.exit(0);
};
// Before "ready": whoever reads it may stop the emulator at once, and a SIGTERM without a handler
// would kill it without stopping socat.
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(
  `${JSON.stringify({ ready: true, link: values.link ?? null, devicePath, pid: process.pid })}\n`,
);
