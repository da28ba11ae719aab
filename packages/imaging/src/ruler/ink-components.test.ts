import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { GrayImage } from '../gray-image.ts';
import { decodeRaster } from '../image-codec.ts';
import { generatePhantom } from '../phantom/generate-phantom.ts';
import { createRng } from '../prng.ts';
import { HZAU_PNG } from '../test-fixtures.ts';
import { type InkComponent, inkComponents } from './ink-components.ts';
import { type Box, findTickMarks, marginRanges, valuePlane } from './tick-marks.ts';

/**
 * The pixel flood inkComponents replaced, kept as its definition: every unvisited ink pixel in raster
 * order seeds a 4-connected flood; components in the order of their first pixel.
 */
function floodComponents(plane: GrayImage, threshold: number, ranges: [number, number][]): InkComponent[] {
  const { data, width, height } = plane;
  const n = data.length;
  const ink = new Uint8Array(n);
  for (const [a, b] of ranges)
    for (let y = 0; y < height; y++)
      for (let x = Math.max(0, a); x < Math.min(width, b); x++)
        if (data[y * width + x]! >= threshold) ink[y * width + x] = 1;
  const out: InkComponent[] = [];
  const stack: number[] = [];
  for (let start = ink.indexOf(1); start !== -1; start = ink.indexOf(1, start + 1)) {
    const c = { minX: width, maxX: -1, minY: height, maxY: -1, count: 0, wy: 0, w: 0 };
    stack.push(start);
    ink[start] = 0;
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      c.count++;
      c.wy += data[p]! * y;
      c.w += data[p]!;
      c.minX = Math.min(c.minX, x);
      c.maxX = Math.max(c.maxX, x);
      c.minY = Math.min(c.minY, y);
      c.maxY = Math.max(c.maxY, y);
      for (const q of [x > 0 ? p - 1 : -1, x + 1 < width ? p + 1 : -1, p - width, p + width]) {
        if (q >= 0 && q < n && ink[q]) {
          ink[q] = 0;
          stack.push(q);
        }
      }
    }
    out.push(c);
  }
  return out;
}

function same(plane: GrayImage, threshold: number, ranges: [number, number][], what: string): void {
  assert.deepEqual(inkComponents(plane, threshold, ranges), floodComponents(plane, threshold, ranges), what);
}

function gray(width: number, height: number, value: (x: number, y: number) => number): GrayImage {
  const data = new Uint8Array(width * height);
  for (let y = 0, i = 0; y < height; y++) for (let x = 0; x < width; x++, i++) data[i] = value(x, y);
  return { data, width, height };
}

test('inkComponents equals the pixel flood on random planes of every density and shape, any margin ranges', () => {
  const rng = createRng(48);
  for (let n = 0; n < 400; n++) {
    const width = rng.int(1, 41);
    const height = rng.int(1, 29);
    const density = rng.pick([0.05, 0.3, 0.5, 0.7, 0.95]);
    const plane = gray(width, height, () => (rng.chance(density) ? rng.int(1, 255) : 0));
    const threshold = rng.int(1, 256);
    // Scan areas as the ruler passes them, and hostile ones: inverted, empty, off the image, touching.
    const a = rng.int(-3, width + 3);
    const b = rng.int(-3, width + 3);
    const area: Box | undefined = rng.chance(0.2) ? undefined : [a, 0, b, height];
    same(plane, threshold, marginRanges(width, area), `plane ${n} (${width}×${height}, margins ${area})`);
    same(
      plane,
      threshold,
      [
        [0, width],
        [a, b],
        [b, a],
      ],
      `plane ${n}, overlapping ranges`,
    );
  }
});

test('inkComponents equals the pixel flood on crafted shapes: spirals and combs joined late, checkerboards, full frames', () => {
  const spiral = gray(61, 61, (x, y) => {
    const r = Math.max(Math.abs(x - 30), Math.abs(y - 30));
    const gapAt = r % 4 === 0 ? (r / 4) % 2 === 0 : false;
    return r % 2 === 0 && !(gapAt && x === 30 + r) ? 200 : 0;
  });
  same(spiral, 100, [[0, 61]], 'spiral');
  const comb = gray(50, 30, (x, y) => (y === 29 || (x % 3 === 0 && y > 2) || (y === 0 && x > 40) ? 255 : 0));
  same(comb, 128, [[0, 50]], 'comb joined on its last row');
  same(
    gray(64, 48, (x, y) => ((x + y) % 2 ? 255 : 0)),
    128,
    [
      [0, 20],
      [40, 64],
    ],
    'checkerboard',
  );
  same(
    gray(64, 48, () => 255),
    128,
    [[0, 64]],
    'all ink',
  );
  same(
    gray(64, 48, () => 255),
    128,
    [
      [0, 30],
      [30, 64],
    ],
    'all ink, touching ranges: one component',
  );
  same(
    gray(64, 48, (x, y) => 40 + ((x * 7 + y * 3) % 216)),
    200,
    [[0, 64]],
    'graded values',
  );
});

test('inkComponents equals the pixel flood on a real screen and phantom screens; keep sees the same figures', async () => {
  const planes: { plane: GrayImage; area: Box; what: string }[] = [];
  if (existsSync(HZAU_PNG)) {
    const area: Box = [159, 40, 761, 716];
    planes.push({ plane: valuePlane(await decodeRaster(HZAU_PNG), area), area, what: 'hzau screen' });
  }
  for (const seed of [1, 3, 7, 11]) {
    const { image } = generatePhantom({ seed, width: 940, height: 720, layout: 'screen' });
    planes.push({ plane: valuePlane(image), area: [160, 40, 780, 700], what: `phantom ${seed}` });
  }
  for (const { plane, area, what } of planes) {
    for (const threshold of [128, findTickMarks(plane, { scanArea: area }).threshold]) {
      same(plane, threshold, marginRanges(plane.width, area), `${what} at ${threshold}`);
      same(plane, threshold, marginRanges(plane.width, undefined), `${what} at ${threshold}, every column`);
    }
    const ranges = marginRanges(plane.width, area);
    const small = (c: InkComponent) => c.count <= 40 && c.maxY - c.minY < 4;
    assert.deepEqual(
      inkComponents(plane, 128, ranges, small),
      floodComponents(plane, 128, ranges).filter(small),
      `${what}, kept ones only`,
    );
  }
});
