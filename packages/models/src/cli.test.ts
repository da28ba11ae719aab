import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DICOM_SYNTAX, dicomBytes, dicomImageElements, handWrittenPng } from '@cti/testkit';
import { toGrayImage } from './image-input.ts';
import { encodeBmp24, encodePng, padGray, syntheticScan, tintedRgb } from './test-fixtures.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
let dir = '';

type Run = { code: number; stdout: string; stderr: string };
function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cti-cli-'));
  const img = padGray(syntheticScan({ width: 331, height: 229, seed: 31 }), 40, 30, 20, 10);
  await writeFile(join(dir, 'scan.png'), await encodePng(img));
  await writeFile(join(dir, 'scan.bmp'), encodeBmp24(tintedRgb(img), img.width, img.height));
  await writeFile(join(dir, 'notes.png'), 'this is text, not a PNG');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('hint prints exactly {ribeye_bbox, score, view, model, ms} in input pixels', async () => {
  for (const file of ['scan.png', 'scan.bmp']) {
    const r = await cli(['hint', join(dir, file)]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['ribeye_bbox', 'score', 'view', 'model', 'ms']);
    const view = out.view as Record<string, unknown>;
    assert.deepEqual(Object.keys(view), ['ribeye_view', 'accepted', 'threshold', 'reasons', 'model']);
    const [x0, y0, x1, y1] = out.ribeye_bbox as number[];
    assert.ok(0 <= x0! && x0! <= x1! && x1! <= 391 && 0 <= y0! && y0! <= y1! && y1! <= 269);
    assert.match(out.model as string, /^ribeye-hint@\d+\.\d+\.\d+$/);
    assert.equal(typeof out.score, 'number');
  }
});

test('segment writes the mask and overlay and reports cm² when the pixel spacing is given', async () => {
  const mask = join(dir, 'mask.png');
  const overlay = join(dir, 'overlay.png');
  const r = await cli([
    'segment',
    join(dir, 'scan.png'),
    '--mask',
    mask,
    '--overlay',
    overlay,
    '--pixel-spacing-mm',
    '0.2',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, number | null | string>;
  for (const key of [
    'area_px',
    'area_cm2',
    'mean_intensity',
    'glcm_contrast',
    'score',
    'model',
    'sha256',
    'ms',
  ]) {
    assert.ok(key in out, key);
  }
  assert.match(out.model as string, /^ribeye-seg@/);
  assert.equal(out.area_cm2, Math.round((((out.area_px as number) * 0.04) / 100) * 1000) / 1000);
  const m = await toGrayImage(mask);
  assert.deepEqual([m.width, m.height], [391, 269]);
  assert.equal(m.data.filter((v) => v === 255).length, out.area_px);
  assert.ok((await readFile(overlay)).length > 0);
  const noSpacing = JSON.parse((await cli(['segment', join(dir, 'scan.png')])).stdout) as Record<
    string,
    unknown
  >;
  assert.equal(noSpacing.area_cm2, null);
});

test('view prints the verdict; a rejected view is said on stderr by view, hint and segment alike', async () => {
  const black = join(dir, 'black.png');
  await writeFile(black, await encodePng({ data: new Uint8Array(320 * 240), width: 320, height: 240 }));
  const r = await cli(['view', black]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(out), [
    'ribeye_view',
    'accepted',
    'threshold',
    'reasons',
    'model',
    'hint_model',
    'ms',
  ]);
  assert.equal(out.accepted, false);
  assert.ok((out.ribeye_view as number) < (out.threshold as number));
  assert.deepEqual((out.reasons as string[]).slice(0, 1), ['not_a_ribeye_view']);
  assert.ok((out.reasons as string[]).includes('too_dark'), String(out.reasons));
  assert.match(out.model as string, /^ribeye-view@\d+\.\d+\.\d+$/);
  for (const command of ['hint', 'segment']) {
    const c = await cli([command, black]);
    assert.equal(c.code, 0, c.stderr);
    const view = (JSON.parse(c.stdout) as { view: { accepted: boolean; reasons: string[] } }).view;
    assert.equal(view.accepted, false);
    assert.deepEqual(view.reasons, out.reasons);
    assert.match(c.stderr, /black\.png: view rejected \(ribeye_view [\d.]+ < [\d.]+\): not_a_ribeye_view, /);
  }
});

test("WebP, TIFF and GIF are read on purpose (the grading worker's decoder), with the verdict the PNG gets", async () => {
  const sharp = (await import('sharp')).default;
  const png = await cli(['view', join(dir, 'scan.png')]);
  assert.equal(png.code, 0, png.stderr);
  const expected = JSON.parse(png.stdout) as { ribeye_view: number; accepted: boolean };
  for (const [ext, encode] of [
    ['webp', (i: ReturnType<typeof sharp>) => i.webp({ lossless: true })],
    ['tiff', (i: ReturnType<typeof sharp>) => i.tiff({ compression: 'lzw' })],
    ['gif', (i: ReturnType<typeof sharp>) => i.gif()],
  ] as const) {
    const file = join(dir, `scan.${ext}`);
    await encode(sharp(join(dir, 'scan.png'))).toFile(file);
    const r = await cli(['view', file]);
    assert.equal(r.code, 0, `${ext}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { ribeye_view: number; accepted: boolean };
    assert.ok(
      Math.abs(out.ribeye_view - expected.ribeye_view) <= 0.01,
      `${ext}: ${out.ribeye_view} vs ${expected.ribeye_view}`,
    );
    assert.equal(out.accepted, expected.accepted, ext);
  }
  const usage = await cli(['--help']);
  assert.match(usage.stdout + usage.stderr, /WebP, TIFF, GIF and AVIF are read too/);
});

test('a DICOM export is read too (decodeRaster knows it by its bytes), with the verdict the PNG gets', async () => {
  const gray = await toGrayImage(join(dir, 'scan.png'));
  const pixels = dicomImageElements({ width: gray.width, height: gray.height, pixels: gray.data });
  // No extension: consoles often write none; the bytes decide.
  await writeFile(join(dir, 'IM0001'), dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: pixels }));
  const [png, dicom] = [await cli(['view', join(dir, 'scan.png')]), await cli(['view', join(dir, 'IM0001')])];
  assert.equal(dicom.code, 0, dicom.stderr);
  const verdict = (r: Run) => {
    const { ms: _ms, ...rest } = JSON.parse(r.stdout) as { ms: number };
    return rest;
  };
  assert.deepEqual(verdict(dicom), verdict(png), 'the same pixels, the same verdict');
});

test('a non-image, a missing file and usage errors exit 2 with a clear message', async () => {
  const text = await cli(['hint', join(dir, 'notes.png')]);
  assert.equal(text.code, 2);
  // One statement of what is read, not a PNG/JPEG/BMP prefix contradicting the decoder's own list.
  assert.match(
    text.stderr,
    /notes\.png: not a decodable image: an unknown format, not a raster image \(PNG, JPEG, BMP, DICOM, WebP, TIFF, GIF or AVIF\)\n$/,
  );
  assert.doesNotMatch(text.stderr, /PNG\/JPEG\/BMP/);
  assert.equal(text.stdout, '');
  const missing = await cli(['segment', join(dir, 'nope.jpg')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read .*nope\.jpg: ENOENT/);
  const usage = await cli(['classify', 'x.png']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown command "classify"/);
  for (const args of [['--x'], ['hint', 'x.png', '--x']]) {
    const unknown = await cli(args);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^cti-models: unknown option "--x"\nusage:/, args.join(' '));
  }
  const viewMask = await cli(['view', join(dir, 'scan.png'), '--mask', join(dir, 'm.png')]);
  assert.equal(viewMask.code, 2);
  assert.match(viewMask.stderr, /only apply to "segment"/);
  const spacing = await cli(['segment', join(dir, 'scan.png'), '--pixel-spacing-mm', 'abc']);
  assert.equal(spacing.code, 2);
  assert.match(spacing.stderr, /--pixel-spacing-mm must be a positive number/);
  const aspect = await cli(['segment', join(dir, 'scan.png'), '--pixel-aspect', '16:9']);
  assert.equal(aspect.code, 2);
  assert.match(
    aspect.stderr,
    /--pixel-aspect must be a pixel's width ÷ its height from 0\.5 to 2, got "16:9"/,
  );
  assert.equal((await cli(['hint'])).code, 2);
  // --threads is bounded like the worker's CTI_ONNX_THREADS: 1000 ran for a minute, 9999 got killed.
  for (const threads of ['1000', '65', '0', '2.5', 'two']) {
    const r = await cli(['view', join(dir, 'scan.png'), '--threads', threads]);
    assert.equal(r.code, 2, `--threads ${threads}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`^cti-models: --threads must be an integer from 1 to 64, got "${threads}"\nusage:`),
    );
    assert.equal(r.stdout, '');
  }
  // parseArgs' own refusals (a value starting with a dash, an option without its value) are usage
  // errors too, not exit 1 "model/internal failure"
  const negative = await cli(['segment', join(dir, 'scan.png'), '--pixel-spacing-mm', '-1']);
  assert.equal(negative.code, 2, negative.stderr);
  assert.match(negative.stderr, /'--pixel-spacing-mm' argument is ambiguous[\s\S]*usage:/);
  const noValue = await cli(['segment', join(dir, 'scan.png'), '--mask']);
  assert.equal(noValue.code, 2, noValue.stderr);
  assert.match(noValue.stderr, /'--mask <value>' argument missing/);
});

/** An 8-bit gray PNG declaring width×height: zero rows (deflate ~1000:1), or with `pixels: false` no rows at all. */
function grayPngDeclaring(width: number, height: number, { pixels = true } = {}): Buffer {
  return handWrittenPng({ width, height, ...(pixels ? {} : { rows: null }) });
}

test('an image declaring more than 40 MP is refused from its header, before decoding: exit 2 naming size and limit', async () => {
  // 8000 × 8000 of zeros: 62 kB that decoded to 64 MB of gray and was graded (exit 0).
  const bomb = grayPngDeclaring(8000, 8000);
  assert.ok(bomb.length < 1 << 20, `${bomb.length} bytes`);
  await writeFile(join(dir, 'bomb.png'), bomb);
  // The header alone: only a check before the decoder can tell its size (the decoder says "truncated").
  await writeFile(join(dir, 'header-only.png'), grayPngDeclaring(16_000, 16_000, { pixels: false }));
  for (const [command, file, size] of [
    ['hint', 'bomb.png', '8000×8000'],
    ['segment', 'header-only.png', '16000×16000'],
    ['view', 'header-only.png', '16000×16000'],
  ] as const) {
    const r = await cli([command, join(dir, file)]);
    assert.equal(r.code, 2, `${command} ${file}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(`${file.replace('.', '\\.')} declares ${size}, over the limit of 40000000 pixels`),
    );
  }
});

test('a sliver (32×4000, 4000×32, 33×2000) or an image under 32 px: exit 2 naming its shape, from the header, on every command', async () => {
  // They used to be graded: the view said "rejected" (exit 0) while the worker refused under 32 px
  // and spent minutes on a 32 px wide strip 1.25 million rows long (the ruler search).
  const cases = [
    ['hint', 32, 4000, 'declares 32×4000: 125:1, a sliver'],
    ['segment', 4000, 32, 'declares 4000×32: 125:1, a sliver'],
    ['view', 33, 2000, 'declares 33×2000: 60.6:1, a sliver'],
    ['hint', 20, 20, 'declares 20×20: under 32 px on a side'],
  ] as const;
  for (const [command, width, height, says] of cases) {
    const file = `sliver-${width}x${height}.png`;
    const scan = syntheticScan({ width, height, seed: 41 });
    await writeFile(join(dir, file), await encodePng(scan));
    const r = await cli([command, join(dir, file)]);
    assert.equal(r.code, 2, `${command} ${file}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`${file.replace('.', '\\.')} ${says}`));
  }
  // Refused from the header: a strip 1.25 million rows long is never decoded.
  await writeFile(join(dir, 'strip-header.png'), grayPngDeclaring(32, 1_250_000, { pixels: false }));
  const strip = await cli(['segment', join(dir, 'strip-header.png')]);
  assert.equal(strip.code, 2, strip.stderr);
  assert.match(strip.stderr, /strip-header\.png declares 32×1250000: 39063:1, a sliver/);
});

test('an output it cannot write: one line naming the option, exit 1, and no mask left without its overlay', async () => {
  const mask = join(dir, 'out-mask.png');
  const r = await cli([
    'segment',
    join(dir, 'scan.png'),
    '--mask',
    mask,
    '--overlay',
    join(dir, 'no', 'o.png'),
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^cti-models: cannot write --overlay .*o\.png: ENOENT/);
  assert.doesNotMatch(r.stderr, /system error|vips/, 'no libvips noise');
  assert.equal(r.stdout, '', 'no result printed');
  assert.equal(existsSync(mask), false, 'the mask is removed when the overlay cannot be written');
});

test('a tampered models dir exits 1 naming the sha256 mismatch', async () => {
  const models = join(dir, 'models');
  const { cp } = await import('node:fs/promises');
  await cp(fileURLToPath(new URL('../models/', import.meta.url)), models, { recursive: true });
  const card = JSON.parse(await readFile(join(models, 'ribeye-hint.card.json'), 'utf8')) as { file: string };
  const bytes = await readFile(join(models, card.file));
  bytes[100]! ^= 0xff;
  await writeFile(join(models, card.file), bytes);
  const r = await cli(['hint', join(dir, 'scan.png'), '--models-dir', models]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /refusing to load/);
});
