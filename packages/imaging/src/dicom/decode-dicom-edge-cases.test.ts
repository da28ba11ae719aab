import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
import { dicomImageSize } from './dicom-image-size.ts';

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

  test('RLE: segments are byte planes whatever Planar Configuration says; 16-bit high bytes first', async () => {
    const rgb = Uint8Array.from({ length: 3 * W * H }, (_, i) => (i * 13) % 256);
    const planes = [0, 1, 2].map((c) => rgb.filter((_, i) => i % 3 === c));
    for (const planar of [0, 1] as const) {
      const colour = dicomBytes({
        syntax: DICOM_SYNTAX.rle,
        elements: image([], {
          samples: 3,
          planar,
          pixels: { fragments: [new Uint8Array(), rleEncodeFrame(planes)] },
        }),
      });
      assert.ok((await pixelsOf(colour)).equals(rgb), `Planar Configuration ${planar}`);
    }
    // 16-bit value = gray × 256 + noise: high bytes carry the picture, so a swapped order shows as noise.
    const noise = gray.map((v) => (v * 101) % 256);
    const window = [dcm.str(t(0x28, 0x1050), 'DS', '32768'), dcm.str(t(0x28, 0x1051), 'DS', '65536')];
    const sixteen = dicomBytes({
      syntax: DICOM_SYNTAX.rle,
      elements: image(window, {
        bitsAllocated: 16,
        pixels: { fragments: [new Uint8Array(), rleEncodeFrame([gray, noise])] },
      }),
    });
    const decoded = await pixelsOf(sixteen);
    assert.ok(
      decoded.every((v, i) => Math.abs(v - gray[i]!) <= 1),
      'the high byte is the picture',
    );
  });

  test('Rescale Slope/Intercept apply before the window, which is in rescaled units', async () => {
    const stored = [...gray].map((v) => v * 16); // rescaled: 2 × stored − 1000
    const withRescale = (center: number, width: number, rescale: boolean) =>
      dicomBytes({
        syntax: DICOM_SYNTAX.explicit,
        elements: image(
          [
            dcm.str(t(0x28, 0x1050), 'DS', String(center)),
            dcm.str(t(0x28, 0x1051), 'DS', String(width)),
            ...(rescale
              ? [dcm.str(t(0x28, 0x1052), 'DS', '-1000'), dcm.str(t(0x28, 0x1053), 'DS', '2')]
              : []),
          ],
          { bitsAllocated: 16, pixels: words(stored) },
        ),
      });
    const plain = await pixelsOf(withRescale(2048, 2048, false));
    // Within one level: the linear function's ½ and −1 offsets (C.11.2.1.2) do not scale with the values.
    const near = (a: Buffer) => a.every((v, i) => Math.abs(v - plain[i]!) <= 1);
    assert.ok(near(await pixelsOf(withRescale(2 * 2048 - 1000, 2 * 2048, true))));
    assert.ok(!near(await pixelsOf(withRescale(2048, 2048, true))), 'the window is not in stored units');
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
  test('dicomImageSize inflates a deflated dataset only as far as decodeDicom would', async () => {
    const padding = dcm.bytes(t(0x0009, 0x1011), 'OB', Buffer.alloc(20 << 20)); // 20 MiB of zeros
    const bomb = dicomBytes({ syntax: DICOM_SYNTAX.deflated, elements: image([padding]) });
    await assert.rejects(decodeDicom(bomb, { maxPixels: 1000 }), /inflates past 16781216 bytes/);
    assert.equal(dicomImageSize(bomb, { maxPixels: 1000 }), undefined);
    assert.deepEqual(dicomImageSize(bomb), { width: W, height: H });
  });

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
