import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DICOM_SYNTAX, dcm, dicomBytes, dicomImageElements, dicomTag as t } from '@cti/testkit';
import sharp from 'sharp';

// Crafted files that cost memory rather than fail a check, each decoded in a node of its own with a
// small heap (running out is a crash, not a slow test); peak RSS is printed, never asserted on.

const [W, H] = [64, 48];
const gray = Uint8Array.from({ length: W * H }, (_, i) => (i * 37 + (i >> 6) * 11) % 256);
const image = (
  extra: ReturnType<typeof dicomImageElements> = [],
  pixels: Parameters<typeof dicomImageElements>[0]['pixels'] = gray,
) => [...dicomImageElements({ width: W, height: H, pixels }), ...extra];

describe('decodeDicom: crafted files stay within bounded memory', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cti-dicom-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const decoder = pathToFileURL(join(import.meta.dirname, 'decode-dicom.ts')).href;
  /** Decodes `bytes` in a node of its own with a `heapMiB` heap: out of memory is a crash, not a slow test. */
  const decodeInChild = async (bytes: Uint8Array, heapMiB: number) => {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.dcm`);
    await writeFile(file, bytes);
    const script = `
      import { readFileSync } from 'node:fs';
      import { decodeDicom } from ${JSON.stringify(decoder)};
      const { image } = await decodeDicom(readFileSync(${JSON.stringify(file)}));
      // VmHWM: this process's own peak (getrusage's maxRSS starts from the parent's at the fork).
      const hwm = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\\s+(\\d+) kB/);
      const peak = hwm ? Number(hwm[1]) >> 10 : process.resourceUsage().maxRSS >> 10;
      console.log(JSON.stringify({ width: image.width, height: image.height, peakRssMiB: peak }));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [`--max-old-space-size=${heapMiB}`, '--input-type=module', '-e', script],
      { maxBuffer: 1 << 20 },
    );
    await rm(file);
    return JSON.parse(stdout) as { width: number; height: number; peakRssMiB: number };
  };

  test('a million empty fragments before the frame (8 MB) decode within a 64 MiB heap', async (ctx) => {
    const jpeg = await sharp(gray, { raw: { width: W, height: H, channels: 1 } })
      .jpeg()
      .toBuffer();
    const empties = Array.from({ length: 1_000_000 }, () => new Uint8Array());
    const bytes = dicomBytes({
      syntax: DICOM_SYNTAX.jpegBaseline,
      elements: image([], { fragments: [new Uint8Array(), jpeg, ...empties] }),
    });
    const decoded = await decodeInChild(bytes, 64);
    ctx.diagnostic(`${bytes.length} bytes, peak RSS ${decoded.peakRssMiB} MiB`);
    assert.deepEqual([decoded.width, decoded.height], [W, H]);
  });

  test('a private sequence of 300 000 items (undefined length) is read past within a 64 MiB heap', async (ctx) => {
    const item = [dcm.str(t(0x0009, 0x1011), 'LO', 'x'), dcm.us(t(0x0009, 0x1012), 1, 2, 3)];
    const bytes = dicomBytes({
      syntax: DICOM_SYNTAX.explicit,
      elements: image([
        dcm.sq(
          t(0x0009, 0x1010),
          Array.from({ length: 300_000 }, () => item),
          { undefinedLength: true },
        ),
      ]),
    });
    const decoded = await decodeInChild(bytes, 64);
    ctx.diagnostic(`${bytes.length} bytes, peak RSS ${decoded.peakRssMiB} MiB`);
    assert.deepEqual([decoded.width, decoded.height], [W, H]);
  });

  test('a 40-megapixel 16-bit frame decodes; its peak RSS is logged', async (ctx) => {
    const [w, h] = [8000, 5000];
    const pixels = Buffer.alloc(2 * w * h);
    for (let i = 0; i < w * h; i += 997) pixels.writeUInt16LE(i & 0xffff, 2 * i);
    const bytes = dicomBytes({
      syntax: DICOM_SYNTAX.explicit,
      elements: dicomImageElements({ width: w, height: h, bitsAllocated: 16, pixels }),
    });
    const decoded = await decodeInChild(bytes, 128);
    ctx.diagnostic(`40 MP 16-bit (${bytes.length} bytes): peak RSS ${decoded.peakRssMiB} MiB`);
    assert.deepEqual([decoded.width, decoded.height], [w, h]);
  });
});
