#!/usr/bin/env node
// Child-process entry of the simulated probe (see phantom-loop.ts): renders `frames` consecutive
// @cti/imaging phantom frames as raw 8-bit gray, frame after frame, into file descriptor 3, then exits.
// Its geometry (depth, mm per pixel: what a real probe knows of its image) goes to stdout as one JSON line.
//   node render-phantom-clip.js <width> <height> <seed> <frames> <fps>
// Rendering allocates large float buffers; doing it here returns all of that to the OS at exit instead
// of leaving the long-running agent's heap inflated.
import { writeSync } from 'node:fs';
import { createPhantomStream, toGray } from '@cti/imaging';

const [width, height, seed, frames, fps] = process.argv.slice(2).map(Number);
if (![width, height, seed, frames, fps].every((v) => Number.isFinite(v))) {
  process.stderr.write(
    `usage: render-phantom-clip <width> <height> <seed> <frames> <fps>, got ${process.argv.slice(2).join(' ')}\n`,
  );
  process.exit(2);
}
const stream = createPhantomStream({ seed: seed!, fps: fps!, width: width!, height: height! });
for (let i = 0; i < frames!; i++) {
  const frame = stream.next(i);
  if (i === 0) {
    const { depthCm, pixelSpacingMm } = frame.labels;
    process.stdout.write(`${JSON.stringify({ depthCm, pixelSpacingMm })}\n`);
  }
  const gray = toGray(frame.image).data;
  for (let off = 0; off < gray.length; ) off += writeSync(3, gray, off, gray.length - off);
}
