// Prints the time readDepthRuler takes per image size, and how much of it is finding the tick marks
// (no assertions). Noise images are the worst case: every margin pixel is ink or not at random.
// Run: node scripts/bench-ruler.ts [--big]   (--big adds 6000×6000, ~20 s before the search was bounded)
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RasterImage } from '../src/gray-image.ts';
import { decodeRaster } from '../src/image-codec.ts';
import { generatePhantom } from '../src/phantom/generate-phantom.ts';
import { readDepthRuler } from '../src/ruler/ruler-reading.ts';
import { findTickMarks } from '../src/ruler/tick-marks.ts';

function noise(width: number, height: number, seed = 1): RasterImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height, channels: 3 };
}

function time(label: string, image: RasterImage, runs: number): void {
  const t0 = performance.now();
  let ticks = 0;
  for (let i = 0; i < runs; i++) ticks = findTickMarks(image).ticks.length;
  const marks = (performance.now() - t0) / runs;
  const t1 = performance.now();
  let r = readDepthRuler(image);
  for (let i = 1; i < runs; i++) r = readDepthRuler(image);
  const total = (performance.now() - t1) / runs;
  const result = r.found ? `${r.mmPerPixel.toFixed(5)} mm/px` : r.reason;
  console.log(
    `${label.padEnd(30)} ${total.toFixed(1).padStart(9)} ms  (tick marks ${marks.toFixed(1).padStart(7)} ms, ${String(ticks).padStart(7)} marks)  ${result}`,
  );
}

const reference = fileURLToPath(
  new URL('../../../../shared/reference-scans/hzau-201615.png', import.meta.url),
);
if (existsSync(reference)) time('hzau-201615.png (real screen)', await decodeRaster(reference), 10);
const screen = generatePhantom({ seed: 3, width: 940, height: 720, layout: 'screen' }).image;
time('phantom screen 940×720', screen, 10);
time('noise 640×480', noise(640, 480), 5);
time('noise 1920×1080', noise(1920, 1080), 3);
time('noise 32×40000 strip', noise(32, 40000), 1);
time('noise 2000×2000', noise(2000, 2000), 1);
if (process.argv.includes('--big')) time('noise 6000×6000', noise(6000, 6000), 1);
