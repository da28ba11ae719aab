import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { toGray } from './gray-image.ts';
import { decodeRaster, encodePng } from './image-codec.ts';
import { ImageDecodeError } from './image-decode-error.ts';
import { generatePhantom } from './phantom/generate-phantom.ts';
import { decodePlainGrayPng } from './png-gray-decode.ts';
import { PNG_SIGNATURE } from './png-header.ts';
import { createRng } from './prng.ts';

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number, { depth = 8, colour = 0, interlace = 0 } = {}): Buffer {
  const h = Buffer.alloc(13);
  h.writeUInt32BE(width, 0);
  h.writeUInt32BE(height, 4);
  h[8] = depth;
  h[9] = colour;
  h[12] = interlace;
  return chunk('IHDR', h);
}

const paeth = (a: number, b: number, c: number) => {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/** Filtered scanlines of a gray image, row y with filter filterOf(y) (PNG spec §9, 1-byte pixels). */
function filterRows(px: Uint8Array, w: number, h: number, filterOf: (y: number) => number): Buffer {
  const out = Buffer.alloc((w + 1) * h);
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : px[y * w + x]!);
  for (let y = 0; y < h; y++) {
    const f = filterOf(y);
    out[y * (w + 1)] = f;
    for (let x = 0; x < w; x++) {
      const v = at(x, y);
      const pred =
        [0, at(x - 1, y), at(x, y - 1), (at(x - 1, y) + at(x, y - 1)) >> 1][f] ??
        paeth(at(x - 1, y), at(x, y - 1), at(x - 1, y - 1));
      out[y * (w + 1) + 1 + x] = (v - pred) & 255;
    }
  }
  return out;
}

/** A gray PNG built by hand: IDAT split in `parts`, `extra` chunks before it, `tail` after IEND. */
function grayPng(
  px: Uint8Array,
  w: number,
  h: number,
  {
    filterOf = (y: number) => y % 5,
    parts = 1,
    extra = [] as Buffer[],
    tail = Buffer.alloc(0),
    header = ihdr(w, h),
  } = {},
): Buffer {
  const z = deflateSync(filterRows(px, w, h, filterOf));
  const step = Math.ceil(z.length / parts);
  const idats = Array.from({ length: parts }, (_, i) => chunk('IDAT', z.subarray(i * step, (i + 1) * step)));
  return Buffer.concat([
    Buffer.from(PNG_SIGNATURE),
    header,
    ...extra,
    ...idats,
    chunk('IEND', new Uint8Array(0)),
    tail,
  ]);
}

function randomGray(w: number, h: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const rand = () => rng.next();
  const px = new Uint8Array(w * h);
  // Smooth ramps plus noise and a few saturated pixels: every filter's wrap-around is exercised.
  for (let i = 0; i < px.length; i++)
    px[i] = rand() < 0.05 ? (rand() < 0.5 ? 0 : 255) : ((i % w) * 3 + Math.floor(rand() * 40)) & 255;
  return px;
}

describe('decodePlainGrayPng', () => {
  it('gives the exact pixels for every filter type, odd sizes and split IDATs, as sharp does', async () => {
    for (const [w, h, seed] of [
      [1, 1, 1],
      [7, 3, 2],
      [33, 17, 3],
      [640, 480, 4],
      [941, 719, 5],
    ] as const) {
      const px = randomGray(w, h, seed);
      for (const [name, filterOf] of [
        ['mixed', (y: number) => y % 5],
        ['sub', () => 1],
        ['up', () => 2],
        ['average', () => 3],
        ['paeth', () => 4],
      ] as const) {
        for (const parts of [1, 3]) {
          const bytes = grayPng(px, w, h, { filterOf, parts, extra: [chunk('pHYs', new Uint8Array(9))] });
          const fast = decodePlainGrayPng(bytes);
          assert.ok(fast, `${w}×${h} ${name} ${parts}`);
          assert.deepEqual([fast.width, fast.height, fast.channels], [w, h, 1]);
          assert.deepEqual(fast.data, px, `${w}×${h} ${name} ${parts}`);
          // sharp (the 3-channel decode never takes the fast path) reads the same gray.
          assert.deepEqual(toGray(await decodeRaster(bytes)).data, px);
        }
      }
    }
  });

  it('decodes what sharp writes (the phantoms as captured) to what sharp reads back', async () => {
    for (const seed of [500, 501, 502]) {
      const { image } = generatePhantom({
        seed,
        width: 640,
        height: 480,
        layout: 'screen',
        preset: 'heldout',
      });
      const gray = {
        data: new Uint8Array(image.width * image.height),
        width: image.width,
        height: image.height,
      };
      for (let i = 0; i < gray.data.length; i++) gray.data[i] = image.data[i * image.channels]!;
      const bytes = await encodePng(gray);
      assert.deepEqual(decodePlainGrayPng(bytes)?.data, gray.data);
      assert.deepEqual((await decodeRaster(bytes, { keepGray: true })).data, gray.data);
    }
  });

  it('leaves to sharp anything that is not a plain, intact 8-bit gray PNG', () => {
    const px = randomGray(20, 10, 9);
    const ok = grayPng(px, 20, 10);
    assert.ok(decodePlainGrayPng(ok));
    const corruptCrc = Buffer.from(ok);
    corruptCrc[corruptCrc.length - 20]! ^= 1; // inside the IDAT: its CRC no longer matches
    const badFilter = grayPng(px, 20, 10, { filterOf: (y) => (y === 4 ? 5 : 0) });
    const cases: [string, Buffer][] = [
      ['a CRC mismatch', corruptCrc],
      ['RGB', grayPng(px, 20, 10, { header: ihdr(20, 10, { colour: 2 }) })],
      ['gray + alpha', grayPng(px, 20, 10, { header: ihdr(20, 10, { colour: 4 }) })],
      ['16-bit', grayPng(px, 20, 10, { header: ihdr(20, 10, { depth: 16 }) })],
      ['interlaced', grayPng(px, 20, 10, { header: ihdr(20, 10, { interlace: 1 }) })],
      ['a gamma chunk', grayPng(px, 20, 10, { extra: [chunk('gAMA', new Uint8Array(4))] })],
      ['an ICC profile', grayPng(px, 20, 10, { extra: [chunk('iCCP', new Uint8Array(8))] })],
      ['an EXIF chunk', grayPng(px, 20, 10, { extra: [chunk('eXIf', new Uint8Array(8))] })],
      [
        'a text chunk',
        grayPng(px, 20, 10, { extra: [chunk('tEXt', Buffer.from('Raw profile type exif\0x'))] }),
      ],
      ['bytes after IEND', grayPng(px, 20, 10, { tail: Buffer.from([0]) })],
      ['a truncated file', ok.subarray(0, ok.length - 30)],
      ['more rows declared than stored', grayPng(px, 20, 10, { header: ihdr(20, 11) })],
      ['fewer rows declared than stored', grayPng(px, 20, 10, { header: ihdr(20, 9) })],
      ['an unknown filter type', badFilter],
      ['a JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...new Uint8Array(60)])],
    ];
    for (const [what, bytes] of cases) assert.equal(decodePlainGrayPng(bytes), null, what);
  });

  it('a malformed gray PNG still fails in decodeRaster as sharp says, or decodes as sharp does', async () => {
    const px = randomGray(20, 10, 11);
    const ok = grayPng(px, 20, 10);
    const corrupt = Buffer.from(ok);
    corrupt[corrupt.length - 20]! ^= 1;
    for (const bytes of [corrupt, ok.subarray(0, ok.length - 30)]) {
      const sharpSays = await decodeRaster(bytes).then(
        (r) => r,
        (err: unknown) => err,
      );
      const keepGray = await decodeRaster(bytes, { keepGray: true }).then(
        (r) => r,
        (err: unknown) => err,
      );
      if (sharpSays instanceof Error) {
        assert.ok(keepGray instanceof ImageDecodeError);
        assert.equal(keepGray.message, sharpSays.message);
      } else {
        assert.ok(!(keepGray instanceof Error));
      }
    }
  });
});

describe('decodePlainGrayPng memory', () => {
  it('a 261 kB file declaring the largest frame costs about its pixels once, no more than sharp', () => {
    // 16383×16383 zero rows deflate to 261 kB. zlib's chunk-by-chunk output, its concatenation and a
    // separate pixel buffer once held ~3× the 268 MB frame (peak RSS +815 MB; sharp +270 MB). Run in
    // a child so the peak RSS is this decode's alone.
    const script = `
      import { crc32, deflateSync } from 'node:zlib';
      import { decodePlainGrayPng } from ${JSON.stringify(new URL('./png-gray-decode.ts', import.meta.url).href)};
      const chunk = (type, data) => {
        const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
        const out = Buffer.alloc(typed.length + 8);
        out.writeUInt32BE(data.length, 0);
        typed.copy(out, 4);
        out.writeUInt32BE(crc32(typed), typed.length + 4);
        return out;
      };
      const side = 0x3fff;
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(side, 0);
      ihdr.writeUInt32BE(side, 4);
      ihdr[8] = 8;
      const bytes = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        chunk('IHDR', ihdr),
        chunk('IDAT', deflateSync(Buffer.alloc((side + 1) * side), { level: 9 })),
        chunk('IEND', Buffer.alloc(0)),
      ]);
      const before = process.memoryUsage().rss;
      const image = decodePlainGrayPng(bytes);
      const grew = process.resourceUsage().maxRSS * 1024 - before;
      console.log(JSON.stringify({ decoded: image?.data.length, grew }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const { decoded, grew } = JSON.parse(child.stdout) as { decoded: number; grew: number };
    const pixels = 0x3fff * 0x3fff;
    assert.equal(decoded, pixels);
    assert.ok(
      grew < 1.5 * pixels,
      `peak RSS grew ${Math.round(grew / 1e6)} MB for ${Math.round(pixels / 1e6)} MB of pixels`,
    );
  });
});

describe('decodePlainGrayPng against sharp (seeded fuzz)', () => {
  /** Previous behaviour: the worker's decode through sharp alone, or the message it failed with. */
  const viaSharp = (bytes: Buffer) =>
    sharp(bytes, { failOn: 'error', autoOrient: true })
      .toColourspace('b-w')
      .raw({ depth: 'uchar' })
      .toBuffer()
      .then(
        (data) => new Uint8Array(data),
        (err: Error) => err.message,
      );

  it('decodes random valid gray PNGs to their pixels; malformed ones to null or to what sharp gives', async () => {
    const rng = createRng(20261205);
    const zero = chunk('IDAT', new Uint8Array(0));
    const neutral = () =>
      rng.chance(0.5)
        ? chunk('pHYs', new Uint8Array(9))
        : chunk('tIME', Buffer.from([7, 234, 12, 5, 18, 0, 0]));
    const counts = { decoded: 0, deferred: 0 };
    for (let i = 0; i < 160; i++) {
      const [w, h] = rng.pick([
        [1, 1],
        [1, rng.int(1, 90)],
        [rng.int(1, 90), 1],
        [rng.int(1, 97), rng.int(1, 61)],
      ]);
      const px = rng.chance(0.5)
        ? randomGray(w, h, i)
        : Uint8Array.from({ length: w * h }, () => rng.int(0, 255));
      const rows = filterRows(px, w, h, () => rng.int(0, 4));
      const z = deflateSync(rows, { level: rng.int(0, 9) });
      const cuts = [0, rng.int(0, z.length), rng.int(0, z.length), z.length].sort((a, b) => a - b);
      const idats = cuts.slice(1).flatMap((end, k) => {
        const part = chunk('IDAT', z.subarray(cuts[k], end));
        return rng.chance(0.3) ? [zero, part] : [part];
      });
      const png = (body: Buffer[], header = ihdr(w, h)) =>
        Buffer.concat([Buffer.from(PNG_SIGNATURE), header, ...body, chunk('IEND', new Uint8Array(0))]);
      const valid = png([
        ...(rng.chance(0.5) ? [neutral()] : []),
        ...idats,
        ...(rng.chance(0.3) ? [neutral()] : []),
      ]);
      assert.deepEqual(decodePlainGrayPng(valid)?.data, px, `valid ${w}×${h} #${i}`);
      const garbage = Buffer.from([rng.int(0, 255), rng.int(0, 255)]);
      const malformed: [string, Buffer][] = [
        ['truncated zlib', png([chunk('IDAT', z.subarray(0, rng.int(0, z.length - 1)))])],
        ['garbage after the zlib stream', png([chunk('IDAT', Buffer.concat([z, garbage]))])],
        [
          'too few image bytes',
          png([chunk('IDAT', deflateSync(rows.subarray(0, rng.int(0, rows.length - 1))))]),
        ],
        ['too many image bytes', png([chunk('IDAT', deflateSync(Buffer.concat([rows, garbage])))])],
        ['a chunk between IDATs', png([idats[0]!, neutral(), ...idats.slice(1)])],
        ['filter type 5+', png([chunk('IDAT', deflateSync(Buffer.from(rows).fill(rng.int(5, 255), 0, 1)))])],
        ['bytes after IEND', Buffer.concat([valid, garbage])],
        ['a length past the end', Buffer.from(valid).fill(0xff, 33, 36)],
        [
          'one flipped byte',
          Buffer.from(valid)
            .fill(rng.int(0, 255), rng.int(8, valid.length - 1))
            .subarray(0),
        ],
        ['a huge frame', png([chunk('IDAT', z)], ihdr(rng.int(16000, 2 ** 31), rng.int(1, 2 ** 31)))],
        ['an unknown critical chunk', png([chunk('ABCD', garbage), ...idats])],
        ['a second IHDR', png([ihdr(w, h), ...idats])],
      ];
      for (const [what, bytes] of malformed) {
        const fast = decodePlainGrayPng(bytes);
        if (!fast) {
          counts.deferred++;
          continue;
        }
        counts.decoded++;
        assert.deepEqual(fast.data, await viaSharp(bytes), `${what} ${w}×${h} #${i}`);
      }
    }
    // Garbage after the zlib stream is ignored by sharp (libspng) too: both decode the same pixels.
    assert.ok(counts.decoded > 0 && counts.deferred > 0, JSON.stringify(counts));
  });
});
