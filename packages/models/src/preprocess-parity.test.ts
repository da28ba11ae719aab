import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeGray, generatePhantom } from '@cti/imaging';
import { handWrittenPng } from '@cti/testkit';
import sharp from 'sharp';
import { toGrayImage } from './image-input.ts';
import { preprocess } from './preprocess.ts';
import {
  encodeBmp8,
  encodeBmp24,
  encodePng,
  encodeRgbPng,
  padGray,
  syntheticScan,
  tintedRgb,
} from './test-fixtures.ts';

const PYTHON = process.env.CTI_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../training/cti_preprocess.py', import.meta.url));
const run = promisify(execFile);
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cti-parity-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

type PyOut = { width: number; height: number; graySum: number; crop: number[]; data: number[] };

async function compare(name: string, bytes: Buffer, size: number, cropped = false): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  const { stdout } = await run(PYTHON, [SCRIPT, path, String(size)], { maxBuffer: 64 << 20 });
  const py = JSON.parse(stdout) as PyOut;
  const gray = await toGrayImage(path);
  const ts = preprocess(gray, size);
  const sum = (data: Uint8Array) => data.reduce((s, v) => s + v, 0);
  assert.deepEqual(
    [gray.width, gray.height, sum(gray.data)],
    [py.width, py.height, py.graySum],
    `${name}: decoded gray differs`,
  );
  // The agent decodes frames with imaging's decodeGray: it must be the very same pixels.
  assert.deepEqual((await decodeGray(path)).data, gray.data, `${name}: decodeGray differs from toGrayImage`);
  assert.deepEqual(ts.crop, py.crop, `${name}: scan-area crop differs`);
  if (cropped) assert.notDeepEqual(ts.crop, [0, 0, gray.width, gray.height], `${name}: margins not cropped`);
  assert.equal(py.data.length, ts.tensor.length);
  let maxDiff = 0;
  for (let i = 0; i < ts.tensor.length; i++)
    maxDiff = Math.max(maxDiff, Math.abs(ts.tensor[i]! - py.data[i]!));
  assert.ok(maxDiff < 1e-5, `${name}: max |ts - py| = ${maxDiff}`);
}

test('gray PNG with black margins: same crop and tensor in Python and TypeScript', async () => {
  const img = padGray(syntheticScan({ width: 301, height: 187, seed: 3 }), 37, 21, 11, 40);
  await compare('margins.png', await encodePng(img), 128, true);
});

test('RGB PNG screen with header blocks and a side bar: same result', async () => {
  const scan = padGray(syntheticScan({ width: 600, height: 430, seed: 4 }), 150, 50, 190, 20);
  for (let x = 180; x < 700; x += 40) {
    for (let y = 12; y < 30; y++) for (let k = 0; k < 22; k++) scan.data[y * scan.width + x + k] = 220;
  }
  for (let y = 40; y < 200; y++) for (let x = 0; x < 14; x++) scan.data[y * scan.width + x] = 255 - y;
  await compare('screen.png', await encodeRgbPng(tintedRgb(scan), scan.width, scan.height), 96, true);
});

test('a phantom screen with a gray background, settings panel and rulers: same result', async () => {
  // A screen of every layout part the scan-area step must drop (texture test, narrow edge runs).
  for (let seed = 8100; seed < 8400; seed++) {
    const { image, labels } = generatePhantom({ seed, layout: 'screen', maxSide: 360 });
    const f = labels.params.furniture;
    if (!f.background || !f.panel?.background || !f.ruler || !f.grayBar) continue;
    const raw = { width: image.width, height: image.height, channels: image.channels };
    await compare(`phantom-${seed}.png`, await sharp(image.data, { raw }).png().toBuffer(), 128, true);
    return;
  }
  assert.fail('no phantom with a gray background, a panel backdrop, a ruler and a gray bar in 300 seeds');
});

test('a deep narrow field kept and a narrow part of a field not taken: same result', async () => {
  // Held-out phantoms (seed 5417 00131: a 147 px field on a 616 px screen; seed 9001 00094).
  for (const seed of [1315630031, 1752278251]) {
    const { image } = generatePhantom({ seed, kind: 'ribeye', preset: 'heldout' });
    const raw = { width: image.width, height: image.height, channels: image.channels };
    await compare(`deep-${seed}.png`, await sharp(image.data, { raw }).png().toBuffer(), 96);
  }
});

test('the weak pass (a dark screen field, a shadow-split crop) and a weak region refused: same result', async () => {
  // Held-out phantoms (seed 5417 00239, 9001 00032, 9001 00092; scan-area.test.ts).
  for (const seed of [1152507589, 1105214005, 436027156]) {
    const { image } = generatePhantom({ seed, kind: 'ribeye', preset: 'heldout' });
    const raw = { width: image.width, height: image.height, channels: image.channels };
    await compare(`weak-${seed}.png`, await sharp(image.data, { raw }).png().toBuffer(), 96);
  }
});

test('8-bit palette BMP and 24-bit BMP with row padding: same result', async () => {
  const img = syntheticScan({ width: 309, height: 213, seed: 5 });
  await compare('crop8.bmp', encodeBmp8(img), 128);
  const odd = padGray(syntheticScan({ width: 201, height: 150, seed: 6 }), 0, 9, 2, 0);
  await compare('odd24.bmp', encodeBmp24(tintedRgb(odd), odd.width, odd.height), 96);
});

test('tiny and all-black images fall back to the whole frame identically', async () => {
  await compare('black.png', await encodePng({ data: new Uint8Array(40 * 30), width: 40, height: 30 }), 128);
  await compare('tiny.png', await encodePng(syntheticScan({ width: 7, height: 5, seed: 8 })), 128);
});

test('the real reference scans (RGB screen PNG, 8-bit scanner BMP): same gray, crop and tensor', async () => {
  const refs = fileURLToPath(new URL('../../../../shared/reference-scans/', import.meta.url));
  await compare('hzau-201615.png', await readFile(join(refs, 'hzau-201615.png')), 128, true);
  await compare('ustool-109A.bmp', await readFile(join(refs, 'ustool-109A.bmp')), 128);
});

test('a JPEG stored on its side with EXIF orientation 6: both decode it upright, as a viewer shows it', async () => {
  const scan = syntheticScan({ width: 160, height: 220, seed: 9 });
  const onItsSide = await sharp(Buffer.from(scan.data), { raw: { width: 160, height: 220, channels: 1 } })
    .rotate(270)
    .toColourspace('b-w')
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  await compare('exif-6.jpg', onItsSide, 96);
  assert.deepEqual([(await toGrayImage(onItsSide)).width, (await toGrayImage(onItsSide)).height], [160, 220]);
});

test('RGBA PNG with transparent pixels: alpha is dropped, not composited, in both', async () => {
  const img = syntheticScan({ width: 160, height: 120, seed: 9 });
  const rgb = tintedRgb(img);
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = (i * 37) % 256;
  }
  const png = await sharp(rgba, { raw: { width: img.width, height: img.height, channels: 4 } })
    .png()
    .toBuffer();
  await compare('alpha.png', png, 96);
});

/** A 16-bit gray PNG written by hand (big-endian samples, as the format stores them). */
function gray16Png(width: number, height: number, value: (i: number) => number): Buffer {
  const rows = Buffer.alloc((1 + 2 * width) * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) rows.writeUInt16BE(value(y * width + x), y * (1 + 2 * width) + 1 + 2 * x);
  return handWrittenPng({ width, height, bitDepth: 16, rows });
}

test('16-bit gray PNG: both keep the high byte (sharp’s v >> 8), Python no longer clips at 255', async () => {
  // Every 16-bit value once: Python's convert('L') clipped all but 0–255 to white.
  const ramp = gray16Png(256, 256, (i) => i);
  await compare('ramp-16.png', ramp, 96);
  const gray = await toGrayImage(ramp);
  assert.ok(gray.data.every((v, i) => v === i >> 8));
  // A scan stored in 16 bits, low byte noise: the same gray, crop and tensor as its 8-bit self.
  const scan = padGray(syntheticScan({ width: 200, height: 150, seed: 5 }), 20, 10, 12, 8);
  await compare(
    'scan-16.png',
    gray16Png(scan.width, scan.height, (i) => scan.data[i]! * 256 + ((i * 97) % 256)),
    96,
    true,
  );
  assert.deepEqual((await toGrayImage(join(dir, 'scan-16.png'))).data, scan.data);
});
