import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  DICOM_SYNTAX,
  type DicomElementSpec,
  dcm,
  dicomBytes,
  dicomImageElements,
  rleEncodeFrame,
  dicomTag as t,
} from '@cti/testkit';
import sharp from 'sharp';
import { ImageDecodeError } from '../image-decode-error.ts';
import { decodeDicom } from './decode-dicom.ts';

// What vendors' files do that the PS3.10 happy path does not, and what a crafted file can try.

const [W, H] = [64, 48];
const gray = Uint8Array.from({ length: W * H }, (_, i) => (i * 37 + (i >> 6) * 11) % 256);
const image = (
  extra: DicomElementSpec[] = [],
  spec: Partial<Parameters<typeof dicomImageElements>[0]> = {},
) => [...dicomImageElements({ width: W, height: H, pixels: gray, ...spec }), ...extra];
const pixelsOf = async (bytes: Uint8Array) => Buffer.from((await decodeDicom(bytes)).image.data);
const words = (values: ArrayLike<number>) => {
  const out = Buffer.alloc(2 * values.length);
  for (let i = 0; i < values.length; i++) out.writeUInt16LE(values[i]! & 0xffff, 2 * i);
  return out;
};
const us = (element: number, value: number) => dcm.us(t(0x0028, element), value);
const rejects = async (bytes: Uint8Array, code: string, pattern: RegExp) =>
  assert.rejects(decodeDicom(bytes, { name: 'scan.dcm' }), (err: unknown) => {
    assert.ok(err instanceof ImageDecodeError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });

describe('decodeDicom: file meta groups and encodings older writers produce', () => {
  test('a file meta group in implicit VR, or without its group length, still reads', async () => {
    for (const meta of [
      { implicitVr: true },
      { groupLength: false },
      { implicitVr: true, groupLength: false },
    ]) {
      const bytes = dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: image(), meta });
      assert.ok((await pixelsOf(bytes)).equals(gray), JSON.stringify(meta));
    }
  });

  test('a dataset in the other VR mode than its transfer syntax says is read by its bytes', async () => {
    for (const [syntax, datasetExplicitVr] of [
      [DICOM_SYNTAX.explicit, false],
      [DICOM_SYNTAX.implicit, true],
      [DICOM_SYNTAX.deflated, false],
    ] as const) {
      const bytes = dicomBytes({ syntax, elements: image(), datasetExplicitVr });
      assert.ok(
        (await pixelsOf(bytes)).equals(gray),
        `${syntax} written ${datasetExplicitVr ? 'explicit' : 'implicit'}`,
      );
    }
  });

  test('a DICOM with no image (a report exported beside the scans) is refused as such, naming its class', async () => {
    const report = dicomBytes({
      syntax: DICOM_SYNTAX.explicit,
      elements: [
        dcm.ui(t(0x0008, 0x0016), '1.2.840.10008.5.1.4.1.1.88.33'),
        dcm.str(t(0x0008, 0x0060), 'CS', 'SR'),
      ],
    });
    await rejects(
      report,
      'not_image',
      /^scan\.dcm: DICOM file holds no image \(no Rows, Columns or Pixel Data; SOP Class UID 1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.33\)$/,
    );
  });

  test('a raw dataset (no preamble, no "DICM") is refused, saying what is missing', async () => {
    const raw = dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: image(), preamble: false });
    await rejects(
      raw,
      'not_image',
      /^scan\.dcm: not a DICOM file \(no "DICM" after the 128-byte preamble\)$/,
    );
  });

  test('odd value lengths (unpadded text), NumberOfFrames with spaces, an odd total pixel length', async () => {
    const unpadded: DicomElementSpec = {
      tag: t(0x0008, 0x0070),
      vr: 'LO',
      encode: () => Buffer.from('ALOKA'),
    };
    const [w, h] = [5, 3]; // 3 frames of 15 bytes: 45, padded to 46 by the writer
    const frames = Uint8Array.from({ length: 3 * w * h }, (_, i) => i);
    const clip = dicomBytes({
      syntax: DICOM_SYNTAX.explicit,
      elements: [
        ...dicomImageElements({ width: w, height: h, pixels: frames }),
        unpadded,
        dcm.str(t(0x0028, 0x0008), 'IS', ' 3 '),
      ],
    });
    const decoded = await decodeDicom(clip);
    assert.deepEqual([decoded.frames, decoded.frame], [3, 2]);
    assert.deepEqual([...decoded.image.data], [...frames.subarray(2 * w * h)]);
  });
});

describe('decodeDicom: gray sample layouts', () => {
  test('8-bit with Bits Stored 7: the bits above it (an overlay) are masked off', async () => {
    const seven = gray.map((v) => v >> 1);
    const plain = await pixelsOf(
      dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: image([], { pixels: seven }) }),
    );
    const overlaid = seven.map((v, i) => (i % 3 === 0 ? v | 0x80 : v));
    const masked = dicomBytes({
      syntax: DICOM_SYNTAX.explicit,
      elements: [...image([], { pixels: overlaid }).filter((e) => e.tag !== t(0x28, 0x101)), us(0x101, 7)],
    });
    const ref = dicomBytes({
      syntax: DICOM_SYNTAX.explicit,
      elements: [...image([], { pixels: seven }).filter((e) => e.tag !== t(0x28, 0x101)), us(0x101, 7)],
    });
    assert.ok((await pixelsOf(masked)).equals(await pixelsOf(ref)));
    assert.ok(!(await pixelsOf(masked)).equals(plain.map((v, i) => (i % 3 === 0 ? v | 0x80 : v))));
  });

  test('signed 16-bit, 12 bits stored, garbage above them; MONOCHROME1 is the inverse of MONOCHROME2', async () => {
    const values = [...gray].map((v) => (v - 128) * 16); // −2048 … 2032: 12-bit two's complement
    const sixteen = (stored: number[], bitsStored: number, photometric = 'MONOCHROME2') =>
      dicomBytes({
        syntax: DICOM_SYNTAX.explicit,
        elements: [
          ...dicomImageElements({
            width: W,
            height: H,
            bitsAllocated: 16,
            photometric,
            pixels: words(stored),
          }).filter((e) => e.tag !== t(0x28, 0x101) && e.tag !== t(0x28, 0x103)),
          us(0x101, bitsStored),
          us(0x103, 1),
        ],
      });
    const clean = await pixelsOf(sixteen(values, 16));
    const garbage = values.map((v) => (v & 0x0fff) | 0xa000);
    assert.ok((await pixelsOf(sixteen(garbage, 12))).equals(clean), 'masked and sign-extended from bit 11');
    assert.ok(clean.equals(Buffer.from(gray)), 'stretched over its own range: the 8-bit values back');
    const inverted = await pixelsOf(sixteen(garbage, 12, 'MONOCHROME1'));
    assert.ok(inverted.equals(clean.map((v) => 255 - v)));
  });

  test('YBR_FULL_422 that says Planar Configuration 1 is read as the Y Y Cb Cr pairs it must hold', async () => {
    const pairs = Uint8Array.from({ length: 2 * W * H }, (_, i) =>
      i % 4 < 2 ? gray[2 * (i >> 2) + (i % 4)]! : 128,
    );
    const ybr = (planar: 0 | 1) =>
      dicomBytes({
        syntax: DICOM_SYNTAX.explicit,
        elements: image([], { samples: 3, photometric: 'YBR_FULL_422', planar, pixels: pairs }),
      });
    const expected = Buffer.from(Array.from({ length: 3 * W * H }, (_, i) => gray[Math.floor(i / 3)]!));
    assert.ok((await pixelsOf(ybr(0))).equals(expected), 'neutral chroma: gray in every channel');
    assert.ok((await pixelsOf(ybr(1))).equals(expected));
  });
});

describe('decodeDicom: encapsulated frames', () => {
  test('the Extended Offset Table (7FE0,0001) finds a frame split over fragments, the Basic one empty', async () => {
    const noise = gray.map((v) => 255 - v);
    const [first, last] = [rleEncodeFrame([noise]), rleEncodeFrame([gray])];
    const offsets = Buffer.alloc(16);
    offsets.writeBigUInt64LE(BigInt(8 + first.length), 8);
    const lengths = Buffer.alloc(16);
    lengths.writeBigUInt64LE(BigInt(first.length), 0);
    lengths.writeBigUInt64LE(BigInt(last.length), 8);
    const clip = dicomBytes({
      syntax: DICOM_SYNTAX.rle,
      elements: image(
        [
          { tag: t(0x7fe0, 0x0001), vr: 'OV', encode: () => offsets },
          { tag: t(0x7fe0, 0x0002), vr: 'OV', encode: () => lengths },
        ],
        {
          frames: 2,
          pixels: { fragments: [new Uint8Array(), first, last.subarray(0, 30), last.subarray(30)] },
        },
      ),
    });
    assert.ok((await pixelsOf(clip)).equals(gray));
  });

  test('multi-frame JPEG with a Basic Offset Table, and with an empty one (frames by SOI)', async () => {
    const jpegOf = (data: Uint8Array) =>
      sharp(data, { raw: { width: W, height: H, channels: 1 } })
        .jpeg({ quality: 95 })
        .toBuffer();
    const [a, b] = [await jpegOf(gray.map((v) => 255 - v)), await jpegOf(gray)];
    const expected = await sharp(b).extractChannel(0).raw().toBuffer();
    const fragments = [a.subarray(0, 100), a.subarray(100), b.subarray(0, 100), b.subarray(100)];
    const table = Buffer.alloc(8);
    table.writeUInt32LE(16 + a.length, 4);
    for (const offsetTable of [table, new Uint8Array()]) {
      const clip = dicomBytes({
        syntax: DICOM_SYNTAX.jpegBaseline,
        elements: image([], { frames: 2, pixels: { fragments: [offsetTable, ...fragments] } }),
      });
      assert.ok((await pixelsOf(clip)).equals(expected), `offset table of ${offsetTable.length} bytes`);
    }
  });
});

describe('decodeDicom: JPEG colour', () => {
  test('a JPEG with no JFIF or Adobe marker is taken as YCbCr even when the dataset says RGB', async () => {
    // PS3.5 allows RGB components in a JPEG, but a JPEG labelled RGB is far more often a YCbCr one whose
    // writer named the decompressed colour space (dcmtk's and GDCM's experience): libjpeg's default stays.
    const rgbFrame = Uint8Array.from({ length: 3 * W * H }, (_, i) => 40 + ((i * 7 + (i % 3) * 19) % 170));
    const jpeg = await sharp(rgbFrame, { raw: { width: W, height: H, channels: 3 } })
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toBuffer();
    assert.ok(jpeg[2] === 0xff && jpeg[3] === 0xdb, 'sharp writes no JFIF/Adobe marker: straight to DQT');
    for (const photometric of ['RGB', 'YBR_FULL_422']) {
      const { image: decoded } = await decodeDicom(
        dicomBytes({
          syntax: DICOM_SYNTAX.jpegBaseline,
          elements: image([], { samples: 3, photometric, pixels: { fragments: [new Uint8Array(), jpeg] } }),
        }),
      );
      const diff = decoded.data.reduce((s, v, i) => s + Math.abs(v - rgbFrame[i]!), 0) / decoded.data.length;
      assert.ok(diff < 2, `${photometric}: mean difference ${diff}`);
    }
  });
});

describe('decodeDicom: sizes that do not add up', () => {
  test('2^31 − 1 frames, or 16-bit pixels in 8-bit room: refused as cut short, nothing allocated', async () => {
    const frames = dcm.str(t(0x0028, 0x0008), 'IS', '2147483647');
    await rejects(
      dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: image([frames]) }),
      'truncated',
      /pixel data holds 3072 bytes, 2147483647 frame\(s\) of 64×48 need 6597069763584$/,
    );
    await rejects(
      dicomBytes({
        syntax: DICOM_SYNTAX.rle,
        elements: image([frames], { pixels: { fragments: [new Uint8Array(), rleEncodeFrame([gray])] } }),
      }),
      'not_image',
      /1 fragments for 2147483647 frames and no offset table/,
    );
    await rejects(
      dicomBytes({ syntax: DICOM_SYNTAX.explicit, elements: image([], { bitsAllocated: 16, pixels: gray }) }),
      'truncated',
      /pixel data holds 3072 bytes, 1 frame\(s\) of 64×48 need 6144$/,
    );
    await rejects(
      dicomBytes({
        syntax: DICOM_SYNTAX.rle,
        elements: image([], {
          bitsAllocated: 16,
          pixels: { fragments: [new Uint8Array(), rleEncodeFrame([gray])] },
        }),
      }),
      'not_image',
      /RLE frame has 1 segments, the image needs 2/,
    );
  });
});

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
      elements: image([], { pixels: { fragments: [new Uint8Array(), jpeg, ...empties] } }),
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
