// Prints the time readDepthRuler takes per image size, and how much of it is finding the tick marks
// (no assertions). Noise images are the worst case for the period search (every margin pixel is ink or
// not at random); hostile images an uploader could craft follow: columns of long aligned ticks (the
// label search: 17 s at 3000² before its budget), a checkerboard (a component per pixel: 2.2 GB at 6000²
// before only tick-shaped ones were kept), stripes at a tick period, constant frames, a frame of ruler.
// Run: node scripts/bench-ruler.ts [--big]   (--big adds 6000×6000 cases, ~20 s / ~1 min before the bounds)
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GrayImage, RasterImage } from '../src/gray-image.ts';
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

function time(label: string, image: RasterImage | GrayImage, runs: number): void {
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
    `${label.padEnd(34)} ${total.toFixed(1).padStart(9)} ms  (tick marks ${marks.toFixed(1).padStart(7)} ms, ${String(ticks).padStart(7)} marks)  ${result}`,
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

/** A gray frame whose pixel (x, y) is `value(x, y)`. */
function frame(width: number, height: number, value: (x: number, y: number) => number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let y = 0, i = 0; y < height; y++) for (let x = 0; x < width; x++, i++) data[i] = value(x, y);
  return { data, width, height };
}

/** Columns 3 px apart of 5 long ticks flush left over 36 % of the height, rows interleaved: each a plausible unlabelled ruler. */
function tickColumns(side: number): GrayImage {
  const length = Math.round(0.1 * side);
  const period = Math.ceil((0.36 * side) / 4);
  const perRow = Math.ceil(length / 3) + 1;
  const data = new Uint8Array(side * side);
  for (let c = 0; 3 * c + length <= side; c++) {
    const top = 2 * (c % perRow);
    if (top >= period - 1) continue;
    for (let k = 0; k < 5; k++) {
      const row = (top + k * period) * side;
      data.fill(255, row + 3 * c, row + 3 * c + length);
    }
  }
  return { data, width: side, height: side };
}

const sides = process.argv.includes('--big') ? [2000, 6000] : [2000];
for (const side of sides) {
  const n = `${side}×${side}`;
  time(`tick columns ${n}`, tickColumns(side), 1);
  time(
    `checkerboard ${n}`,
    frame(side, side, (x, y) => ((x ^ y) & 1 ? 255 : 0)),
    1,
  );
  time(
    `row every 12 px ${n}`,
    frame(side, side, (_x, y) => (y % 12 === 0 ? 255 : 0)),
    1,
  );
  time(
    `dashes every 12 rows ${n}`,
    frame(side, side, (x, y) => (y % 12 === 0 && x % 20 < 10 ? 255 : 0)),
    1,
  );
  time(
    `all 0 ${n}`,
    frame(side, side, () => 0),
    1,
  );
  time(
    `all 255 ${n}`,
    frame(side, side, () => 255),
    1,
  );
}
