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
import { declaredImageSize } from '../declared-image-size.ts';
import { type RasterImage, toGray } from '../gray-image.ts';
import { decodeRaster } from '../image-codec.ts';
import { ImageDecodeError } from '../image-decode-error.ts';
import { decodeDicom } from './decode-dicom.ts';

const REFERENCE = '/work/shared/reference-scans/hzau-201615.png';
const rgb = (await decodeRaster(REFERENCE)) as RasterImage & { channels: 3 };
const gray = toGray(rgb);
const { width, height } = gray;

const file = (
  syntax: string,
  image: Parameters<typeof dicomImageElements>[0],
  extra: DicomElementSpec[] = [],
) => dicomBytes({ syntax, elements: [...dicomImageElements(image), ...extra] });
const planes = (data: Uint8Array, samples: number) =>
  Array.from({ length: samples }, (_, c) => data.filter((_, i) => i % samples === c));
const meanAbsDiff = (a: Uint8Array, b: Uint8Array) =>
  a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
const jpegOf = (data: Uint8Array, channels: 1 | 3) =>
  sharp(data, { raw: { width, height, channels } })
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .jpeg({ quality: 95 })
    .toBuffer();

describe('decodeDicom: each transfer syntax gives the pixels it was written from', () => {
  for (const [label, syntax] of [
    ['explicit VR LE', DICOM_SYNTAX.explicit],
    ['implicit VR LE', DICOM_SYNTAX.implicit],
    ['deflated explicit VR LE', DICOM_SYNTAX.deflated],
  ] as const) {
    test(`${label}: gray and RGB (interleaved and planar)`, async () => {
      const g = await decodeRaster(file(syntax, { width, height, pixels: gray.data }));
      assert.deepEqual(
        { ...g, data: Buffer.from(g.data) },
        { ...gray, data: Buffer.from(gray.data), channels: 1 },
      );
      const interleaved = await decodeRaster(file(syntax, { width, height, samples: 3, pixels: rgb.data }));
      assert.ok(Buffer.from(interleaved.data).equals(rgb.data), 'RGB interleaved');
      const planar = file(syntax, {
        width,
        height,
        samples: 3,
        planar: 1,
        pixels: Buffer.concat(planes(rgb.data, 3)),
      });
      const fromPlanes = await decodeRaster(planar);
      assert.equal(fromPlanes.channels, 3);
      assert.ok(Buffer.from(fromPlanes.data).equals(rgb.data), 'RGB planar');
    });
  }

  test('RLE Lossless: gray, RGB and 16-bit gray', async () => {
    const g = await decodeRaster(
      file(DICOM_SYNTAX.rle, {
        width,
        height,
        pixels: { fragments: [new Uint8Array(), rleEncodeFrame([gray.data])] },
      }),
    );
    assert.ok(Buffer.from(g.data).equals(gray.data));
    const colour = file(DICOM_SYNTAX.rle, {
      width,
      height,
      samples: 3,
      pixels: { fragments: [new Uint8Array(), rleEncodeFrame(planes(rgb.data, 3))] },
    });
    const c = await decodeRaster(colour);
    assert.equal(c.channels, 3);
    assert.ok(Buffer.from(c.data).equals(rgb.data));
    const wide = gray.data.map((v) => v); // 16-bit value g × 257: high byte g, low byte g
    const sixteen = file(
      DICOM_SYNTAX.rle,
      {
        width,
        height,
        bitsAllocated: 16,
        pixels: { fragments: [new Uint8Array(), rleEncodeFrame([wide, wide])] },
      },
      [dcm.str(t(0x28, 0x1050), 'DS', '32768'), dcm.str(t(0x28, 0x1051), 'DS', '65536')],
    );
    assert.ok(Buffer.from((await decodeRaster(sixteen)).data).equals(gray.data));
  });

  test('JPEG Baseline and Extended (8-bit): the JPEG’s own pixels, close to the PNG', async () => {
    for (const syntax of [DICOM_SYNTAX.jpegBaseline, DICOM_SYNTAX.jpegExtended]) {
      const jpeg = await jpegOf(gray.data, 1);
      const { data: expected } = await sharp(jpeg)
        .extractChannel(0)
        .raw()
        .toBuffer({ resolveWithObject: true });
      const split = [jpeg.subarray(0, 1000), jpeg.subarray(1000)]; // a frame may span fragments
      const decoded = await decodeRaster(
        file(syntax, { width, height, pixels: { fragments: [new Uint8Array(), ...split] } }),
      );
      assert.equal(decoded.channels, 1);
      assert.ok(Buffer.from(decoded.data).equals(expected), syntax);
      assert.ok(
        meanAbsDiff(decoded.data, gray.data) < 2,
        `${syntax}: ${meanAbsDiff(decoded.data, gray.data)}`,
      );
    }
    const colour = await jpegOf(rgb.data, 3);
    const decoded = await decodeRaster(
      file(DICOM_SYNTAX.jpegBaseline, {
        width,
        height,
        samples: 3,
        photometric: 'YBR_FULL_422',
        pixels: { fragments: [new Uint8Array(), colour] },
      }),
    );
    assert.equal(decoded.channels, 3);
    assert.ok(meanAbsDiff(decoded.data, rgb.data) < 3, `colour JPEG: ${meanAbsDiff(decoded.data, rgb.data)}`);
  });
});

describe('decodeDicom: pixel layouts', () => {
  test('a cine clip gives its last frame, and says how many there were', async () => {
    const noise = Uint8Array.from({ length: width * height }, (_, i) => (i * 7919) % 256);
    const native = file(DICOM_SYNTAX.explicit, {
      width,
      height,
      frames: 3,
      pixels: Buffer.concat([noise, noise, gray.data]),
    });
    const clip = await decodeDicom(native);
    assert.deepEqual([clip.frames, clip.frame], [3, 2]);
    assert.ok(Buffer.from(clip.image.data).equals(gray.data));
    const rle = (frames: Uint8Array[], table = new Uint8Array()) =>
      file(DICOM_SYNTAX.rle, {
        width,
        height,
        frames: frames.length,
        pixels: { fragments: [table, ...frames.map((f) => rleEncodeFrame([f]))] },
      });
    const oneFragmentEach = await decodeDicom(rle([noise, gray.data]));
    assert.ok(Buffer.from(oneFragmentEach.image.data).equals(gray.data));
    // With an offset table, a frame may span fragments: the table says where the last one starts.
    const [first, last] = [rleEncodeFrame([noise]), rleEncodeFrame([gray.data])];
    const table = Buffer.alloc(8);
    table.writeUInt32LE(8 + first.length, 4);
    const byTable = file(DICOM_SYNTAX.rle, {
      width,
      height,
      frames: 2,
      pixels: { fragments: [table, first, last.subarray(0, 10), last.subarray(10)] },
    });
    assert.ok(Buffer.from((await decodeDicom(byTable)).image.data).equals(gray.data));
    const jpegs = [await jpegOf(noise, 1), await jpegOf(gray.data, 1)];
    const jpegClip = file(DICOM_SYNTAX.jpegBaseline, {
      width,
      height,
      frames: 2,
      pixels: {
        fragments: [new Uint8Array(), jpegs[0]!, jpegs[1]!.subarray(0, 500), jpegs[1]!.subarray(500)],
      },
    });
    const { data: expected } = await sharp(jpegs[1])
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.ok(
      Buffer.from((await decodeDicom(jpegClip)).image.data).equals(expected),
      'JPEG frames found by their SOI',
    );
  });

  test('MONOCHROME1 is inverted; 16-bit gray windowed by Window Center/Width, else by its own range', async () => {
    const inverted = gray.data.map((v) => 255 - v);
    const m1 = await decodeRaster(
      file(DICOM_SYNTAX.explicit, { width, height, photometric: 'MONOCHROME1', pixels: inverted }),
    );
    assert.ok(Buffer.from(m1.data).equals(gray.data));
    const spread = Uint8Array.from(gray.data);
    [spread[0], spread[1]] = [0, 255]; // the stretch maps 3 + 256 × (0..255) back onto 0..255 exactly
    const words = Buffer.alloc(2 * spread.length);
    for (const [i, v] of spread.entries()) words.writeUInt16LE(v * 256 + 3, 2 * i);
    const stretched = await decodeRaster(
      file(DICOM_SYNTAX.explicit, { width, height, bitsAllocated: 16, pixels: words }),
    );
    assert.ok(Buffer.from(stretched.data).equals(spread));
    const narrow = file(DICOM_SYNTAX.explicit, { width, height, bitsAllocated: 16, pixels: words }, [
      dcm.str(t(0x28, 0x1050), 'DS', String(128 * 256 + 3)),
      dcm.str(t(0x28, 0x1051), 'DS', '2'),
    ]);
    const windowed = await decodeRaster(narrow);
    assert.ok(
      windowed.data.every((v, i) => v === (spread[i]! >= 128 ? 255 : 0)),
      'a 2-wide window thresholds at its centre',
    );
  });

  test('YBR_FULL and YBR_FULL_422 uncompressed, PALETTE COLOR', async () => {
    const ybr = new Uint8Array(rgb.data.length);
    for (let p = 0; p < ybr.length; p += 3) {
      const [r, g, b] = [rgb.data[p]!, rgb.data[p + 1]!, rgb.data[p + 2]!];
      ybr[p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      ybr[p + 1] = Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      ybr[p + 2] = Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
    const full = await decodeRaster(
      file(DICOM_SYNTAX.explicit, { width, height, samples: 3, photometric: 'YBR_FULL', pixels: ybr }),
    );
    assert.ok(meanAbsDiff(full.data, rgb.data) < 1, `YBR_FULL: ${meanAbsDiff(full.data, rgb.data)}`);
    const pairs = new Uint8Array((ybr.length / 3) * 2);
    for (let k = 0; k < ybr.length / 6; k++) {
      const [a, b] = [6 * k, 6 * k + 3];
      pairs.set(
        [ybr[a]!, ybr[b]!, (ybr[a + 1]! + ybr[b + 1]!) >> 1, (ybr[a + 2]! + ybr[b + 2]!) >> 1],
        4 * k,
      );
    }
    const half = await decodeRaster(
      file(DICOM_SYNTAX.explicit, { width, height, samples: 3, photometric: 'YBR_FULL_422', pixels: pairs }),
    );
    assert.ok(meanAbsDiff(half.data, rgb.data) < 3, `YBR_FULL_422: ${meanAbsDiff(half.data, rgb.data)}`);
    assert.ok(meanAbsDiff(toGray(half).data, gray.data) < 1.5);
    const lut = (f: (i: number) => number) => {
      const words = Buffer.alloc(512);
      for (let i = 0; i < 256; i++) words.writeUInt16LE(f(i) * 257, 2 * i);
      return words;
    };
    const paletted = await decodeRaster(
      file(DICOM_SYNTAX.explicit, { width, height, photometric: 'PALETTE COLOR', pixels: gray.data }, [
        dcm.us(t(0x28, 0x1101), 256, 0, 16),
        dcm.us(t(0x28, 0x1102), 256, 0, 16),
        dcm.us(t(0x28, 0x1103), 256, 0, 16),
        dcm.bytes(
          t(0x28, 0x1201),
          'OW',
          lut((i) => i),
        ),
        dcm.bytes(
          t(0x28, 0x1202),
          'OW',
          lut((i) => 255 - i),
        ),
        dcm.bytes(
          t(0x28, 0x1203),
          'OW',
          lut(() => 7),
        ),
      ]),
    );
    assert.ok(
      paletted.data.every((v, i) => v === [gray.data[(i / 3) | 0]!, 255 - gray.data[(i / 3) | 0]!, 7][i % 3]),
    );
  });

  test('declaredImageSize reads Columns × Rows (deflated too) without decoding', async () => {
    for (const syntax of [DICOM_SYNTAX.explicit, DICOM_SYNTAX.implicit, DICOM_SYNTAX.deflated]) {
      assert.deepEqual(await declaredImageSize(file(syntax, { width, height, pixels: gray.data })), {
        width,
        height,
      });
    }
    const huge = file(DICOM_SYNTAX.explicit, { width: 65535, height: 65535, pixels: new Uint8Array(16) });
    assert.deepEqual(await declaredImageSize(huge), { width: 65535, height: 65535 });
  });
});

describe('decodeDicom: hostile and unsupported files are clear errors', () => {
  const good = file(DICOM_SYNTAX.explicit, { width, height, pixels: gray.data });
  const refuses = async (bytes: Uint8Array, code: string, pattern: RegExp) => {
    await assert.rejects(decodeRaster(bytes, { name: 'scan.dcm' }), (err: unknown) => {
      assert.ok(err instanceof ImageDecodeError, String(err));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, /^scan\.dcm: /);
      assert.match(err.message, pattern);
      return true;
    });
  };

  test('cut short anywhere: refused as incomplete (a writer still going)', async () => {
    for (const at of [
      100,
      131,
      140,
      200,
      300,
      330,
      400,
      good.length - gray.data.length - 4,
      good.length - 1,
    ]) {
      await assert.rejects(
        decodeRaster(good.subarray(0, at), { name: 'scan.dcm' }),
        (err: unknown) => {
          assert.ok(err instanceof ImageDecodeError, `${at}: ${err}`);
          assert.ok(['truncated', 'not_image'].includes(err.code), `${at}: ${err.code}`);
          return true;
        },
        `cut at ${at}`,
      );
    }
    await refuses(good.subarray(0, good.length - 1), 'truncated', /past the end of the file/);
    const deflated = file(DICOM_SYNTAX.deflated, { width, height, pixels: gray.data });
    await refuses(deflated.subarray(0, deflated.length - 50), 'truncated', /deflated dataset truncated/);
    const rle = file(DICOM_SYNTAX.rle, {
      width,
      height,
      pixels: { fragments: [new Uint8Array(), rleEncodeFrame([gray.data])] },
    });
    await refuses(rle.subarray(0, rle.length - 8), 'truncated', /fragment/);
    const shortSegment = Buffer.from(rle);
    const segmentAt = shortSegment.lastIndexOf(Buffer.from([0xfe, 0xff, 0x00, 0xe0])) + 8; // the frame's fragment
    shortSegment.writeUInt32LE(1, segmentAt); // one segment (count) stays, its run now ends early:
    const cut = Buffer.concat([shortSegment.subarray(0, segmentAt - 4), Buffer.alloc(4)]);
    cut.writeUInt32LE(200, segmentAt - 4);
    await refuses(
      Buffer.concat([
        cut,
        shortSegment.subarray(segmentAt, segmentAt + 200),
        Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
      ]),
      'truncated',
      /RLE segment 0 ends after \d+ of its 676800 bytes/,
    );
  });

  test('a length past the end, a huge image, a nesting bomb', async () => {
    const lying = Buffer.from(good);
    const at = lying.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00])); // Pixel Data's tag
    lying.writeUInt32LE(0x7ffffff0, at + 8);
    await refuses(lying, 'truncated', /\(7FE0,0010\)'s value of 2147483632 bytes/);
    await refuses(
      file(DICOM_SYNTAX.explicit, { width: 65535, height: 65535, pixels: new Uint8Array(16) }),
      'not_image',
      /65535×65535 = 4294836225 pixels, over the 40000000 limit/,
    );
    let nested: DicomElementSpec = dcm.str(t(0x10, 0x10), 'PN', 'X');
    for (let i = 0; i < 300; i++) nested = dcm.sq(t(0x40, 0xa730), [[nested]], { undefinedLength: true });
    await refuses(
      file(DICOM_SYNTAX.explicit, { width, height, pixels: gray.data }, [nested]),
      'not_image',
      /nested deeper than 16 levels/,
    );
  });

  test('a JPEG frame larger than the dataset says is refused before sharp decodes it', async () => {
    const big = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#000' } })
      .jpeg()
      .toBuffer();
    const lying = file(DICOM_SYNTAX.jpegBaseline, {
      width,
      height,
      pixels: { fragments: [new Uint8Array(), big] },
    });
    await refuses(lying, 'not_image', /JPEG frame declares 2000×2000, the dataset says 940×720/);
  });

  test('a deflated dataset is inflated only up to a bound set by the pixel limit', async () => {
    const padding = dcm.bytes(t(0x0009, 0x1011), 'OB', Buffer.alloc(20 << 20)); // 20 MiB of zeros: ~20 kB deflated
    const bomb = file(DICOM_SYNTAX.deflated, { width: 8, height: 8, pixels: new Uint8Array(64) }, [padding]);
    assert.ok(bomb.length < 100_000);
    await assert.rejects(decodeDicom(bomb, { name: 'bomb.dcm', maxPixels: 1000 }), (err: unknown) => {
      assert.ok(err instanceof ImageDecodeError);
      assert.match(err.message, /^bomb\.dcm: DICOM deflated dataset inflates past 16781216 bytes$/);
      return true;
    });
    assert.equal((await decodeDicom(bomb)).image.width, 8, 'within the default bound it decodes');
  });

  test('a malformed private sequence of defined length is passed over, not read', async () => {
    const garbage: DicomElementSpec = {
      tag: t(0x0009, 0x1010),
      vr: 'SQ',
      encode: () => Buffer.from('not items at all'),
    };
    const decoded = await decodeRaster(
      file(DICOM_SYNTAX.explicit, { width, height, pixels: gray.data }, [garbage]),
    );
    assert.ok(Buffer.from(decoded.data).equals(gray.data));
  });

  test('big endian, JPEG 2000 and unknown syntaxes are named', async () => {
    await refuses(
      file(DICOM_SYNTAX.bigEndian, { width, height, pixels: gray.data }),
      'unsupported_dicom',
      /"1\.2\.840\.10008\.1\.2\.2" \(Explicit VR Big Endian \(retired\)\) is not supported/,
    );
    await refuses(
      file(DICOM_SYNTAX.jpeg2000, {
        width,
        height,
        pixels: { fragments: [new Uint8Array(), Buffer.alloc(64)] },
      }),
      'unsupported_dicom',
      /1\.2\.840\.10008\.1\.2\.4\.91.*JPEG 2000 Image Compression/,
    );
    await refuses(
      file('1.2.3.4', { width, height, pixels: gray.data }),
      'unsupported_dicom',
      /"1\.2\.3\.4" \(an unknown transfer syntax\)/,
    );
    await refuses(
      file(DICOM_SYNTAX.explicit, {
        width,
        height,
        samples: 3,
        bitsAllocated: 16,
        pixels: new Uint8Array(16),
      }),
      'unsupported_dicom',
      /16-bit colour/,
    );
  });
});
