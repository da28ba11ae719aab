import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeRaster, encodeBmp8, encodeJpeg, toGray } from '@cti/imaging';
import { createLogger } from '@cti/runtime';
import {
  DICOM_SYNTAX,
  type DicomElementSpec,
  dcm,
  dicomBytes,
  dicomImageElements,
  dicomTag,
  rleEncodeFrame,
  ultrasoundRegion,
  waitFor,
} from '@cti/testkit';
import sharp from 'sharp';
import { createCaptureRig } from '../test-support/capture-rig.ts';
import { createFolderSource, isFrameFileName, sidecarAcquisition } from './folder-source.ts';
import type { Frame } from './frame-source.ts';
import { createSyntheticFrames } from './synthetic-frames.ts';

const W = 96;
const H = 64;
const pixels = createSyntheticFrames({ width: W, height: H, seed: 3 });
const png = (n: number) =>
  sharp(Buffer.from(pixels(n)), { raw: { width: W, height: H, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();

/** A started folder source on `dir` whose frames go to `frames` and whose log lines go to `lines`. */
async function startRecordedSource(dir: string, frames: Frame[], lines: string[]) {
  const log = createLogger({
    name: 'test',
    level: 'debug',
    destination: { write: (l: string) => void lines.push(l) },
  });
  const source = createFolderSource({ dir, stableMs: 150, pollMs: 25, log });
  source.onFrame((f) => frames.push(f));
  await source.start();
  return source;
}

describe('folder-drop frame source (chokidar)', () => {
  let dir: string;
  const frames: Frame[] = [];
  const lines: string[] = [];
  let source: ReturnType<typeof createFolderSource>;
  /**
   * True once the source has refused `name` (the source's rejectedFiles counts every file: a wait on
   * it is met by an earlier test's file and says nothing about this one).
   */
  const refused = (name: string) =>
    lines.some((l) => l.includes('skipping incomplete or unreadable') && l.includes(`"file":"${name}"`));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cti-folder-'));
    source = await startRecordedSource(dir, frames, lines);
  });
  after(async () => {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('temp names and non-images are not frames', () => {
    for (const n of [
      '.frame.png',
      'frame.png.tmp',
      'frame.png.part',
      'frame.png~',
      'notes.txt',
      'frame.json',
    ]) {
      assert.equal(isFrameFileName(n), false, n);
    }
    for (const n of ['frame.png', 'F.JPG', 'a.jpeg', 'scan-1.bmp']) assert.equal(isFrameFileName(n), true, n);
    // DICOM: by extension, or (taken only if the bytes are DICOM) no extension or a UID's numeric tail.
    for (const n of ['scan.dcm', 'SCAN.DICOM', 'IM0001', '1.2.840.113619.2.55.3'])
      assert.equal(isFrameFileName(n), true, n);
    for (const n of ['DICOMDIR', 'IM0001.tmp', '.IM0001', 'IM0001~', 'IM0001.json', 'IM0001.part']) {
      assert.equal(isFrameFileName(n), false, n);
    }
  });

  test('a PNG with a sidecar arrives once, pixel-exact, with the acquisition parameters', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    writeFileSync(
      join(dir, 'scan-1.json'),
      JSON.stringify({
        probe_model: 'Console-X',
        depth_cm: 16,
        gain_db: 40,
        pixel_spacing_mm: 0.237,
        pixel_aspect: 0.889,
      }),
    );
    writeFileSync(join(dir, 'scan-1.png'), await png(1));
    await waitFor(() => frames.length === 1, { what: 'one frame' });
    const [f] = frames;
    assert.equal(f!.origin, 'folder:scan-1.png');
    assert.deepEqual(Buffer.from(f!.gray), Buffer.from(pixels(1)));
    assert.deepEqual(f!.acquisition, {
      probeModel: 'Console-X',
      frequencyMhz: undefined,
      depthCm: 16,
      gainDb: 40,
      pixelSpacingMm: 0.237,
      pixelAspect: 0.889,
    });
  });

  test('sidecar values meta.json cannot hold are dropped, the rest kept (they made every capture fail)', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    writeFileSync(
      join(dir, 'scan-4.json'),
      // 1e400 parses as Infinity; meta.json allows depth_cm > 0, pixel_spacing_mm in (0, 10],
      // pixel_aspect in [0.5, 2], model 1-128
      '{"probe_model":"","frequency_mhz":7.5,"depth_cm":-3,"gain_db":1e400,"pixel_spacing_mm":12,"pixel_aspect":16}',
    );
    writeFileSync(join(dir, 'scan-4.png'), await png(4));
    await waitFor(() => frames.length === 1, { what: 'one frame' });
    assert.deepEqual(frames[0]!.acquisition, {
      probeModel: undefined,
      frequencyMhz: 7.5,
      depthCm: undefined,
      gainDb: undefined,
      pixelSpacingMm: undefined,
      pixelAspect: undefined,
    });
    assert.deepEqual(sidecarAcquisition({ probe_model: 'x'.repeat(129), depth_cm: '16' }), {
      probeModel: undefined,
      frequencyMhz: undefined,
      depthCm: undefined,
      gainDb: undefined,
      pixelSpacingMm: undefined,
      pixelAspect: undefined,
    });
  });

  test('an image declaring more than 4096 × 4096 pixels is refused from its header, not decoded', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    // 8000 × 8000 black: ~190 kB of PNG that decodes to 192 MB of RGB
    const bomb = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#000' } })
      .png({ compressionLevel: 9 })
      .toBuffer();
    assert.ok(bomb.length < 1 << 20);
    writeFileSync(join(dir, 'scan-5.png'), bomb);
    await waitFor(() => refused('scan-5.png'), { what: 'the oversized image refused' });
    assert.ok(lines.some((l) => l.includes('"file":"scan-5.png"') && l.includes('over the')));
    assert.equal(frames.length, 0);
  });

  test('the pixel limit holds whatever the bytes are: a 5 kB WebP named .png declaring 8000 × 8000 is refused', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    // The extension passes the filter, the content decides the decoder: sharp decodes WebP (and TIFF,
    // GIF) too, whose headers imageHeaderSize does not read. This one decoded to 192 MB of RGB.
    const bomb = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: '#000' } })
      .webp({ lossless: true })
      .toBuffer();
    assert.ok(bomb.length < 64 << 10);
    writeFileSync(join(dir, 'scan-6.png'), bomb);
    await waitFor(() => refused('scan-6.png') || frames.length > 0, {
      what: 'the disguised oversized image handled',
    });
    assert.equal(frames.length, 0, 'an 8000 × 8000 frame was decoded and emitted');
  });

  test('a partially written file is not taken; the completed file is', { timeout: 90_000 }, async () => {
    frames.length = 0;
    const bytes = await png(2);
    const path = join(dir, 'scan-2.png');
    writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
    // A pause longer than the stability window: chokidar reports the file, the decoder refuses the
    // truncated PNG. The rest is written once that refusal happened (a writer resuming while the file
    // is read: see 'a writer that resumes a file after it was taken' below).
    await waitFor(() => refused('scan-2.png'), { what: 'truncated file refused' });
    await delay(300);
    assert.equal(frames.length, 0);
    appendFileSync(path, bytes.subarray(bytes.length >> 1));
    await waitFor(() => frames.length === 1, { what: 'the completed frame' });
    assert.deepEqual(Buffer.from(frames[0]!.gray), Buffer.from(pixels(2)));
  });

  test('a file written under a temp name then renamed is taken once; BMP decodes', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const tmp = join(dir, 'scan-3.bmp.part');
    writeFileSync(tmp, encodeBmp8({ data: pixels(3), width: W, height: H }));
    renameSync(tmp, join(dir, 'scan-3.bmp'));
    await waitFor(() => frames.length === 1, { what: 'the renamed BMP' });
    await delay(400);
    assert.equal(frames.length, 1);
    assert.deepEqual(Buffer.from(frames[0]!.gray), Buffer.from(pixels(3)));
  });
});

describe('folder source: a sidecar written after its image', () => {
  let dir: string;
  const frames: Frame[] = [];
  const lines: string[] = [];
  let source: ReturnType<typeof createFolderSource>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cti-folder-late-'));
    source = await startRecordedSource(dir, frames, lines);
  });
  after(async () => {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `name`'s sidecar once the source waits for it (or a frame came without waiting: the bug). */
  const sidecarWhenAsked = async (name: string, sidecar: object) => {
    const before = frames.length;
    const asked = () => lines.some((l) => l.includes('waiting for the frame') && l.includes(`${name}.json`));
    await waitFor(() => asked() || frames.length > before, { what: `the source waiting for ${name}.json` });
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(sidecar));
  };

  test('image first, its sidecar after: the frame carries that sidecar', { timeout: 90_000 }, async () => {
    frames.length = 0;
    writeFileSync(join(dir, 'late-1.png'), await png(5));
    await sidecarWhenAsked('late-1', { depth_cm: 12, pixel_spacing_mm: 0.3 });
    await waitFor(() => frames.length === 1, { what: 'the frame' });
    assert.equal(frames[0]!.acquisition.pixelSpacingMm, 0.3);
    assert.equal(frames[0]!.acquisition.depthCm, 12);
  });

  test('a console that reuses one name, image then sidecar: each frame gets its own sidecar, never the previous one', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    writeFileSync(join(dir, 'export.json'), JSON.stringify({ depth_cm: 10, pixel_spacing_mm: 0.2 }));
    writeFileSync(join(dir, 'export.png'), await png(6));
    await waitFor(() => frames.length === 1, { what: 'the first frame' });
    assert.equal(frames[0]!.acquisition.pixelSpacingMm, 0.2);
    // The next export: the image is rewritten first, its sidecar after it.
    lines.length = 0;
    writeFileSync(join(dir, 'export.png'), await png(7));
    await sidecarWhenAsked('export', { depth_cm: 18, pixel_spacing_mm: 0.35 });
    await waitFor(() => frames.length === 2, { what: 'the second frame' });
    assert.deepEqual(Buffer.from(frames[1]!.gray), Buffer.from(pixels(7)));
    assert.equal(frames[1]!.acquisition.pixelSpacingMm, 0.35);
    assert.equal(frames[1]!.acquisition.depthCm, 18);
  });

  test('after the clock steps back, a reused name’s new sidecar (older mtime than the last) is still its own', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    // Export 1 written while the clock ran an hour ahead: its sidecar carries that mtime.
    const ahead = new Date(Date.now() + 3_600_000);
    writeFileSync(join(dir, 'stepped.json'), JSON.stringify({ depth_cm: 10, pixel_spacing_mm: 0.2 }));
    utimesSync(join(dir, 'stepped.json'), ahead, ahead);
    writeFileSync(join(dir, 'stepped.png'), await png(9));
    await waitFor(() => frames.length === 1, { what: 'the first frame' });
    assert.equal(frames[0]!.acquisition.pixelSpacingMm, 0.2);
    // NTP steps the clock back an hour; export 2, sidecar then image, at the right time.
    writeFileSync(join(dir, 'stepped.json'), JSON.stringify({ depth_cm: 18, pixel_spacing_mm: 0.35 }));
    writeFileSync(join(dir, 'stepped.png'), await png(10));
    await waitFor(() => frames.length === 2, { what: 'the second frame' });
    assert.equal(frames[1]!.acquisition.pixelSpacingMm, 0.35, 'not taken without its sidecar as "stale"');
    assert.equal(frames[1]!.acquisition.depthCm, 18);
  });

  test('a sidecar that never comes: the frame is taken without one after the stability window', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    writeFileSync(join(dir, 'alone.png'), await png(8));
    await waitFor(() => frames.length === 1, { what: 'the frame without a sidecar' });
    assert.deepEqual(frames[0]!.acquisition, {});
  });
});

describe('folder source: the drop folder vanishes and comes back (USB stick, network share)', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'cti-folder-gone-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('removed then made again: disconnected meanwhile, then new files are frames again', {
    timeout: 90_000,
  }, async () => {
    // chokidar's watch dies with the folder: the source stayed "connected" and took no file for ever.
    const dir = join(root, 'drop');
    mkdirSync(dir);
    const source = createFolderSource({ dir, stableMs: 100, pollMs: 25, folderCheckMs: 50 });
    const frames: Frame[] = [];
    source.onFrame((f) => frames.push(f));
    await source.start();
    try {
      writeFileSync(join(dir, 'before.png'), await png(1));
      await waitFor(() => frames.length === 1, { what: 'the frame before the folder goes' });
      rmSync(dir, { recursive: true });
      await waitFor(() => !source.status().connected, { what: 'the source saying the folder is gone' });
      mkdirSync(dir);
      await waitFor(() => source.status().connected, { what: 'the source watching the new folder' });
      writeFileSync(join(dir, 'after.png'), await png(2));
      await waitFor(() => frames.length === 2, { what: 'the frame after the folder came back' });
      assert.equal(frames[1]!.origin, 'folder:after.png');
      assert.deepEqual(Buffer.from(frames[1]!.gray), Buffer.from(pixels(2)));
    } finally {
      await source.stop();
    }
  });

  test('absent at start: not connected until it appears, then its new files are frames', {
    timeout: 90_000,
  }, async () => {
    const dir = join(root, 'later');
    const source = createFolderSource({ dir, stableMs: 100, pollMs: 25, folderCheckMs: 50 });
    const frames: Frame[] = [];
    source.onFrame((f) => frames.push(f));
    await source.start();
    try {
      assert.equal(source.status().connected, false);
      mkdirSync(dir);
      await waitFor(() => source.status().connected, { what: 'the source watching the folder' });
      writeFileSync(join(dir, 'first.png'), await png(3));
      await waitFor(() => frames.length === 1, { what: 'the frame' });
      assert.equal(frames[0]!.origin, 'folder:first.png');
    } finally {
      await source.stop();
    }
  });
});

/**
 * A real writer process: writes `bytes[0, split)` to `path`, then waits (as long as the test likes: far
 * longer than the stability window) until `resume()`, writes the rest through the same descriptor and
 * exits — a console that paused mid-export.
 */
function pausedWriter(path: string, bytes: Uint8Array, split: number) {
  const script = `const fs = require('node:fs');
const [path, split] = process.argv.slice(1);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.once('end', () => {
  const all = Buffer.concat(chunks), fd = fs.openSync(path, 'w');
  fs.writeSync(fd, all.subarray(0, +split));
  process.stdout.write('paused\\n');
  process.on('SIGUSR2', () => { fs.writeSync(fd, all.subarray(+split)); fs.closeSync(fd); process.exit(0); });
});
// Never outlives the test that forgot to resume it: it holds the runner's stderr (inherited).
setTimeout(() => process.exit(3), 120_000);`;
  const child = spawn(process.execPath, ['-e', script, path, String(split)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(Buffer.from(bytes));
  const paused = once(child.stdout, 'data');
  return {
    paused,
    async resume() {
      const exited = once(child, 'exit');
      child.kill('SIGUSR2');
      const [code] = await exited;
      assert.equal(code, 0, 'the writer finished the file');
    },
  };
}

/** A FAT-like mtime: whole 2-second steps, the same value for every write of the test. */
const FAT_TIME = new Date(Math.floor(Date.now() / 2000) * 2000 - 60_000);

describe('folder source: a writer that resumes a file after it was taken (one frame, one capture)', () => {
  let dir: string;
  const frames: Frame[] = [];
  const lines: string[] = [];
  let source: ReturnType<typeof createFolderSource>;
  const logged = (text: string, name: string) =>
    lines.some((l) => l.includes(text) && l.includes(`"file":"${name}"`));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cti-folder-resume-'));
    source = await startRecordedSource(dir, frames, lines);
  });
  after(async () => {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a PNG paused before its last chunk is taken once: the completed file is the same frame, not a second one', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const bytes = await png(9);
    const path = join(dir, 'pause-1.png');
    // Everything but IEND: the pixels are all there, so the paused file decodes and is taken.
    const writer = pausedWriter(path, bytes, bytes.length - 12);
    await writer.paused;
    await waitFor(() => frames.length === 1, { what: 'the frame of the paused file' });
    await writer.resume();
    await waitFor(() => logged('completed late', 'pause-1.png') || frames.length > 1, {
      what: 'the completed file handled',
    });
    assert.equal(frames.length, 1, 'the completed file was emitted as a second frame');
    assert.deepEqual(Buffer.from(frames[0]!.gray), Buffer.from(pixels(9)));
  });

  test('a JPEG paused mid-file: the truncated part is refused, the completed file taken once', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const bytes = await encodeJpeg({ data: pixels(10), width: W, height: H }, 95);
    const path = join(dir, 'pause-2.jpg');
    const writer = pausedWriter(path, bytes, bytes.length >> 1);
    await writer.paused;
    await waitFor(() => logged('skipping incomplete', 'pause-2.jpg'), { what: 'the truncated JPEG refused' });
    assert.equal(frames.length, 0, 'a truncated JPEG was taken as a frame');
    await writer.resume();
    await waitFor(() => frames.length === 1, { what: 'the completed JPEG' });
    assert.equal(frames[0]!.width, W);
  });

  test('a re-export under the same name, same size and same FAT-like mtime but new pixels is a new frame', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    // 8-bit BMPs of one size are all the same length: only the content tells them apart.
    const path = join(dir, 'export.bmp');
    writeFileSync(path, encodeBmp8({ data: pixels(11), width: W, height: H }));
    utimesSync(path, FAT_TIME, FAT_TIME);
    await waitFor(() => frames.length === 1, { what: 'the first export' });
    const first = statSync(path);
    writeFileSync(path, encodeBmp8({ data: pixels(12), width: W, height: H }));
    utimesSync(path, FAT_TIME, FAT_TIME);
    const second = statSync(path);
    assert.deepEqual([second.ino, second.size, second.mtimeMs], [first.ino, first.size, first.mtimeMs]);
    await waitFor(() => frames.length === 2, { what: 'the second export' });
    assert.deepEqual(Buffer.from(frames[1]!.gray), Buffer.from(pixels(12)));
  });

  test('the same bytes exported again under the same name are a new frame (the operator exported again)', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const bytes = await png(13);
    const path = join(dir, 'again.png');
    writeFileSync(path, bytes);
    utimesSync(path, FAT_TIME, FAT_TIME);
    await waitFor(() => frames.length === 1, { what: 'the first export' });
    writeFileSync(path, bytes);
    utimesSync(path, FAT_TIME, new Date(FAT_TIME.getTime() + 2000));
    await waitFor(() => frames.length === 2, { what: 'the export of the same bytes' });
    assert.deepEqual(Buffer.from(frames[1]!.gray), Buffer.from(pixels(13)));
  });

  test('a chmod of a frame file taken is not a new frame', { timeout: 90_000 }, async () => {
    frames.length = 0;
    const path = join(dir, 'chmod.png');
    writeFileSync(path, await png(15));
    await waitFor(() => frames.length === 1, { what: 'the frame' });
    chmodSync(path, 0o600);
    await waitFor(() => logged('attributes changed', 'chmod.png') || frames.length > 1, {
      what: 'the chmod handled',
    });
    assert.equal(frames.length, 1, 'a chmod was taken as a new frame');
  });

  test('a paused writer that completes its file with the same bytes as a frame taken before is still one frame', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const bytes = await png(14);
    const path = join(dir, 'pause-3.png');
    const writer = pausedWriter(path, bytes, bytes.length - 12);
    await writer.paused;
    await waitFor(() => frames.length === 1, { what: 'the frame of the paused file' });
    await writer.resume();
    await waitFor(() => logged('completed late', 'pause-3.png') || frames.length > 1, {
      what: 'the completed file handled',
    });
    // Exported again afterwards, byte for byte: a new frame.
    writeFileSync(path, bytes);
    await waitFor(() => frames.length === 2, { what: 'the re-export' });
    assert.equal(frames.length, 2);
  });
});

describe('folder source: a console writing a new name for every frame', () => {
  test('the names remembered (frames taken, sidecars used) stay bounded', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-folder-names-'));
    const frames: Frame[] = [];
    const source = createFolderSource({ dir, stableMs: 150, pollMs: 25, rememberNames: 3 });
    source.onFrame((f) => frames.push(f));
    await source.start();
    try {
      for (let i = 0; i < 8; i++) {
        writeFileSync(join(dir, `unique-${i}.json`), JSON.stringify({ depth_cm: 10 + i }));
        writeFileSync(join(dir, `unique-${i}.png`), await png(20 + i));
        await waitFor(() => frames.length === i + 1, { what: `frame ${i}` });
        assert.equal(frames[i]!.acquisition.depthCm, 10 + i, 'each frame still gets its own sidecar');
      }
      assert.deepEqual(source.rememberedNames(), { taken: 3, sidecars: 3 });
    } finally {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('folder source: DICOM exports (the scanner’s own pixel spacing)', () => {
  let dir: string;
  const frames: Frame[] = [];
  const lines: string[] = [];
  let source: ReturnType<typeof createFolderSource>;
  let hzau: Awaited<ReturnType<typeof decodeRaster>>;
  const logged = (text: string, name: string) =>
    lines.some((l) => l.includes(text) && l.includes(`"file":"${name}"`));
  const refused = (name: string) => logged('skipping incomplete or unreadable', name);
  /** hzau-201615.png as the console would export it: RGB, explicit VR, one 2D tissue region. */
  const hzauDicom = (
    region: DicomElementSpec[][] | null,
    extra: DicomElementSpec[] = [],
    syntax: string = DICOM_SYNTAX.explicit,
  ) =>
    dicomBytes({
      syntax,
      elements: [
        ...dicomImageElements({ width: hzau.width, height: hzau.height, samples: 3, pixels: hzau.data }),
        ...(region ? [dcm.sq(dicomTag(0x18, 0x6011), region, { undefinedLength: true })] : []),
        dcm.str(dicomTag(0x08, 0x70), 'LO', 'Hitachi Aloka'),
        dcm.str(dicomTag(0x18, 0x5010), 'LO', 'UST-5820-5'),
        ...extra,
      ],
    });
  // 0.29586 mm a pixel: what hzau-201615.png's own cm ruler says.
  const ruler = (over: Partial<Parameters<typeof ultrasoundRegion>[0]> = {}) =>
    ultrasoundRegion({
      box: [0, 0, hzau.width - 1, hzau.height - 1],
      deltaX: 0.029586,
      deltaY: 0.029586,
      frequencyKhz: 3500,
      referenceY: { pixel: 0, value: 0 },
      ...over,
    });
  before(async () => {
    hzau = await decodeRaster('/work/shared/reference-scans/hzau-201615.png');
    dir = mkdtempSync(join(tmpdir(), 'cti-folder-dicom-'));
    source = await startRecordedSource(dir, frames, lines);
  });
  after(async () => {
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an extension-less DICOM: the frame, and its region calibration in meta.json through a capture', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    writeFileSync(join(dir, 'IM0001'), hzauDicom([ruler()]));
    await waitFor(() => frames.length === 1, { what: 'the DICOM frame' });
    const [f] = frames;
    assert.equal(f!.origin, 'folder:IM0001');
    assert.deepEqual([f!.width, f!.height], [940, 720]);
    assert.ok(Buffer.from(f!.gray).equals(toGray(hzau).data), 'the PNG’s pixels');
    assert.ok(
      Math.abs(f!.acquisition.pixelSpacingMm! - 0.29586) < 1e-9,
      String(f!.acquisition.pixelSpacingMm),
    );
    assert.equal(f!.acquisition.probeModel, 'Hitachi Aloka UST-5820-5');
    assert.equal(f!.acquisition.frequencyMhz, 3.5);
    assert.ok(Math.abs(f!.acquisition.depthCm! - 720 * 0.029586) < 1e-9);
    assert.equal(f!.acquisition.pixelAspect, 1);
    const rig = createCaptureRig({ gate: { enabled: false } });
    try {
      rig.pushFrame(f!);
      const result = await rig.pipeline.capture(rig.now());
      assert.equal(result.status, 'captured', JSON.stringify(result));
      if (result.status !== 'captured') return;
      assert.ok(Math.abs(result.meta.acquisition!.pixel_spacing_mm! - 0.29586) < 1e-9);
      assert.equal(result.meta.acquisition!.pixel_aspect, 1);
      assert.deepEqual([result.meta.acquisition!.width_px, result.meta.acquisition!.height_px], [940, 720]);
    } finally {
      rig.close();
    }
  });

  test('the sidecar wins field by field over the DICOM’s own values', { timeout: 90_000 }, async () => {
    frames.length = 0;
    writeFileSync(
      join(dir, 'scan-7.json'),
      JSON.stringify({ probe_model: 'Operator says', pixel_spacing_mm: 0.3 }),
    );
    writeFileSync(join(dir, 'scan-7.dcm'), hzauDicom([ruler()]));
    await waitFor(() => frames.length === 1, { what: 'the DICOM frame with its sidecar' });
    const { acquisition } = frames[0]!;
    assert.equal(acquisition.pixelSpacingMm, 0.3);
    assert.equal(acquisition.probeModel, 'Operator says');
    assert.equal(acquisition.frequencyMhz, 3.5, 'the DICOM’s value where the sidecar says nothing');
    assert.equal(acquisition.pixelAspect, 1);
  });

  test('DICOM values meta.json cannot hold are dropped and logged; no calibration: the frame, no spacing', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    writeFileSync(join(dir, 'wide.dcm'), hzauDicom([ruler({ deltaX: 0.15, deltaY: 0.03 })]));
    await waitFor(() => frames.length === 1, { what: 'the frame with an impossible aspect' });
    assert.equal(frames[0]!.acquisition.pixelAspect, undefined);
    assert.ok(Math.abs(frames[0]!.acquisition.pixelSpacingMm! - 0.3) < 1e-9);
    assert.ok(logged('ignoring DICOM values meta.json cannot hold', 'wide.dcm'));
    assert.ok(lines.some((l) => l.includes('"file":"wide.dcm"') && l.includes('pixel_aspect=5')));
    writeFileSync(join(dir, 'bare.dcm'), hzauDicom(null, [], DICOM_SYNTAX.implicit));
    await waitFor(() => frames.length === 2, { what: 'the frame without calibration' });
    assert.equal(frames[1]!.acquisition.pixelSpacingMm, undefined);
    assert.equal(frames[1]!.acquisition.probeModel, 'Hitachi Aloka UST-5820-5');
    assert.ok(Buffer.from(frames[1]!.gray).equals(toGray(hzau).data));
  });

  test('a half-written DICOM is refused as incomplete; the completed file is taken', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const bytes = hzauDicom([ruler()]);
    const path = join(dir, '1.2.840.113619.2.55.3');
    writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
    await waitFor(() => refused('1.2.840.113619.2.55.3'), { what: 'the half-written DICOM refused' });
    assert.ok(lines.some((l) => l.includes('DICOM truncated')));
    assert.equal(frames.length, 0);
    appendFileSync(path, bytes.subarray(bytes.length >> 1));
    await waitFor(() => frames.length === 1, { what: 'the completed DICOM' });
    assert.ok(Buffer.from(frames[0]!.gray).equals(toGray(hzau).data));
  });

  test('a DICOM declaring more than 4096 × 4096 pixels is refused from its dataset, before any pixel is read', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const huge = dicomBytes({
      syntax: DICOM_SYNTAX.explicit,
      elements: dicomImageElements({ width: 5000, height: 5000, pixels: new Uint8Array(16) }),
    });
    writeFileSync(join(dir, 'huge.dcm'), huge);
    await waitFor(() => refused('huge.dcm'), { what: 'the oversized DICOM refused' });
    assert.ok(lines.some((l) => l.includes('"file":"huge.dcm"') && l.includes('over the 16777216 limit')));
    assert.equal(frames.length, 0);
  });

  test('a cine clip (RLE) gives its last frame, logged; an extension-less file that is not DICOM is no frame', {
    timeout: 90_000,
  }, async () => {
    frames.length = 0;
    const gray = toGray(hzau).data;
    const other = gray.map((v) => 255 - v);
    const clip = dicomBytes({
      syntax: DICOM_SYNTAX.rle,
      elements: [
        ...dicomImageElements({
          width: hzau.width,
          height: hzau.height,
          frames: 2,
          pixels: { fragments: [new Uint8Array(), rleEncodeFrame([other]), rleEncodeFrame([gray])] },
        }),
        dcm.sq(dicomTag(0x18, 0x6011), [ruler()]),
      ],
    });
    writeFileSync(join(dir, 'notes'), 'not an image at all, but long enough to hold a preamble '.repeat(4));
    writeFileSync(join(dir, 'CINE01'), clip);
    await waitFor(() => frames.length === 1, { what: 'the clip’s frame' });
    assert.ok(Buffer.from(frames[0]!.gray).equals(gray), 'the last frame');
    assert.ok(logged('DICOM cine clip: took its last frame', 'CINE01'));
    await waitFor(() => logged('not DICOM: not a frame', 'notes'), { what: 'the text file passed over' });
    assert.equal(refused('notes'), false, 'a non-DICOM file without an extension is not an error');
    assert.equal(frames.length, 1);
  });
});
