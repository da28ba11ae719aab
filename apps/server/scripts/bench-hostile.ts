// pnpm bench:hostile — prints figures, asserts nothing. What a crafted or huge upload costs the grading
// worker: each case is encoded as the upload would be, then decoded and graded as the worker does
// (declared size, decodeRaster keepGray, createGrader), in a fresh child process so its peak RSS is its
// own. Per case: encoded bytes, decode ms, grading ms per stage, CPU s, peak RSS, grade, ruler outcome.
// Settings: HOSTILE_SIDE (6000: cases are 6000×6600 — 39.6 MP, under the 40 MP limit — or that many
// pixels at 8:1), HOSTILE_CASES (comma-separated names, all by default).
import { spawnSync } from 'node:child_process';
import { declaredImageSize, decodeRaster, scanShapeProblem } from '@cti/imaging';
import sharp from 'sharp';
import { createGrader } from '../src/grading/grade-image.ts';

const SIDE = Number(process.env.HOSTILE_SIDE ?? 6000);
const TALL = Math.round(SIDE * 1.1);
/** 8:1 with the same pixels as SIDE × TALL. */
const SLIVER = Math.floor(Math.sqrt((SIDE * TALL) / 8));

type Case = { width: number; height: number; value: (x: number, y: number) => number; format?: 'jpeg' };

/** Columns 3 px apart of 5 long ticks flush left over 36 % of the height, rows interleaved. */
function tickColumns(width: number, height: number) {
  const length = Math.round(0.1 * width);
  const period = Math.ceil((0.36 * height) / 4);
  const perRow = Math.ceil(length / 3) + 1;
  return (x: number, y: number) => {
    const c = Math.floor(x / 3);
    const top = 2 * (c % perRow);
    if (top >= period - 1 || y < top || (y - top) % period !== 0 || (y - top) / period > 4) return 0;
    // x lies on the ticks of every column c' with 3c' ≤ x < 3c' + length; this row belongs to column c'.
    for (let cc = c; cc >= 0 && x < 3 * cc + length; cc--) if (2 * (cc % perRow) === top) return 255;
    return 0;
  };
}

let seed = 1;
const random = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed >>> 24;
};
const CASES: Record<string, Case> = {
  'all 0': { width: SIDE, height: TALL, value: () => 0 },
  'all 255': { width: SIDE, height: TALL, value: () => 255 },
  noise: { width: SIDE, height: TALL, value: random },
  'noise 8:1': { width: 8 * SLIVER, height: SLIVER, value: random },
  'noise 1:8': { width: SLIVER, height: 8 * SLIVER, value: random },
  checkerboard: { width: SIDE, height: TALL, value: (x, y) => ((x ^ y) & 1 ? 255 : 0) },
  'checkerboard 8:1': { width: 8 * SLIVER, height: SLIVER, value: (x, y) => ((x ^ y) & 1 ? 255 : 0) },
  'one bright row': { width: SIDE, height: TALL, value: (_x, y) => (y === TALL >> 1 ? 255 : 0) },
  'a row every 12 px': { width: SIDE, height: TALL, value: (_x, y) => (y % 12 === 0 ? 255 : 0) },
  'dashes every 12 rows': {
    width: SIDE,
    height: TALL,
    value: (x, y) => (y % 12 === 0 && x % 20 < 10 ? 255 : 0),
  },
  'tick columns': { width: SIDE, height: TALL, value: tickColumns(SIDE, TALL) },
  'noise, progressive JPEG': { width: SIDE, height: TALL, value: random, format: 'jpeg' },
};

async function encode(c: Case): Promise<Buffer> {
  const data = Buffer.alloc(c.width * c.height);
  for (let y = 0, i = 0; y < c.height; y++) for (let x = 0; x < c.width; x++, i++) data[i] = c.value(x, y);
  const image = sharp(data, { raw: { width: c.width, height: c.height, channels: 1 } }).toColourspace('b-w');
  return c.format === 'jpeg'
    ? image.jpeg({ progressive: true }).toBuffer()
    : image.png({ compressionLevel: 1 }).toBuffer();
}

async function runCase(name: string): Promise<void> {
  const bytes = await encode(CASES[name]!);
  const grader = await createGrader();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const declared = await declaredImageSize(bytes);
  const shape = declared && scanShapeProblem(declared.width, declared.height);
  if (shape) throw new Error(shape);
  const raster = await decodeRaster(bytes, { keepGray: true });
  const decodeMs = performance.now() - t0;
  const g = await grader.grade({ raster, meta: null, calibration: null });
  const cpu = process.cpuUsage(cpu0);
  const spacing = g.features.lineage.pixel_spacing as {
    ruler?: { found: boolean; reason?: string; detail?: string };
  };
  const ruler = spacing.ruler?.found
    ? 'read'
    : `${spacing.ruler?.reason}: ${spacing.ruler?.detail?.slice(0, 70)}`;
  console.log(
    JSON.stringify({
      bytes: bytes.length,
      decodeMs: Math.round(decodeMs),
      timings: g.timings,
      cpuS: (cpu.user + cpu.system) / 1e6,
      peakMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      grade: g.grade,
      ruler,
    }),
  );
  await grader.close();
}

const only = process.argv[2];
if (only) await runCase(only);
else {
  const names = process.env.HOSTILE_CASES?.split(',') ?? Object.keys(CASES);
  console.log(`hostile uploads, one child each (grading as the worker does; ${SIDE}×${TALL} unless named)`);
  for (const name of names) {
    const c = CASES[name]!;
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, new URL(import.meta.url).pathname, name],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    if (child.status !== 0 || !line.startsWith('{')) {
      console.log(
        `${name.padEnd(24)} failed (${child.status ?? child.signal}): ${child.stderr.trim().split('\n').at(-1)}`,
      );
      continue;
    }
    const r = JSON.parse(line) as {
      decodeMs: number;
      timings: Record<string, number>;
      cpuS: number;
      peakMiB: number;
      bytes: number;
      grade: string;
      ruler: string;
    };
    const stages = Object.entries(r.timings)
      .map(([k, v]) => `${k} ${Math.round(v)}`)
      .join(', ');
    console.log(
      `${name.padEnd(24)} ${`${c.width}×${c.height}`.padEnd(11)} ${String(r.bytes).padStart(9)} B  decode ${r.decodeMs} ms, ${stages} ms; CPU ${r.cpuS.toFixed(1)} s, peak ${r.peakMiB} MiB; ${r.grade}; ruler ${r.ruler}`,
    );
  }
}
