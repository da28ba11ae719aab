import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { encodeBmp8 } from './bmp-decode.ts';
import { toGray } from './gray-image.ts';
import { decodeGray, decodeRaster, encodeJpeg, encodePng } from './image-codec.ts';
import { ImageDecodeError } from './image-decode-error.ts';
import { HZAU_PNG, pattern, USTOOL_BMP } from './test-fixtures.ts';

describe('decodeGray / encodePng / encodeJpeg', () => {
  it('round-trips gray through a 1-channel PNG exactly', async () => {
    const src = pattern(64, 48);
    const png = await encodePng(src);
    assert.equal((await sharp(png).metadata()).channels, 1);
    assert.deepEqual(await decodeGray(png), src);
  });

  it('writes a 1-channel JPEG close to the source', async () => {
    const src = pattern(64, 48);
    const jpg = await encodeJpeg(src, 95);
    assert.equal((await sharp(jpg).metadata()).channels, 1);
    const back = await decodeGray(jpg);
    let err = 0;
    for (let i = 0; i < src.data.length; i++) err += Math.abs(src.data[i]! - back.data[i]!);
    assert.ok(err / src.data.length < 6, `mean abs error ${err / src.data.length}`);
    await assert.rejects(encodeJpeg(src, 0), /quality/);
  });

  it('decodes RGB screens and BMPs from paths to one channel', async () => {
    const screen = await decodeGray(HZAU_PNG);
    assert.equal(screen.width, 940);
    assert.equal(screen.data.length, 940 * 720);
    const crop = await decodeGray(USTOOL_BMP);
    assert.equal(crop.data.length, 309 * 213);
    const dir = await mkdtemp(join(tmpdir(), 'cti-imaging-'));
    await writeFile(join(dir, 'a.bmp'), encodeBmp8(pattern(10, 6)));
    assert.deepEqual(await decodeGray(join(dir, 'a.bmp')), pattern(10, 6));
  });

  it('drops alpha (no compositing) like PIL convert("RGB") in the trainer', async () => {
    const rgba = await sharp(Buffer.from([255, 255, 255, 0, 200, 100, 50, 255, 10, 20, 30, 128]), {
      raw: { width: 3, height: 1, channels: 4 },
    })
      .png()
      .toBuffer();
    const raster = await decodeRaster(rgba);
    assert.equal(raster.channels, 3);
    assert.deepEqual([...raster.data], [255, 255, 255, 200, 100, 50, 10, 20, 30]);
    const g = await decodeGray(rgba);
    assert.deepEqual([...g.data], [255, 124, 18]);
  });

  it('decodeGray is Rec. 601 of the RGB raster on the real reference screen', async () => {
    const raster = await decodeRaster(HZAU_PNG);
    assert.equal(raster.channels, 3);
    const gray = await decodeGray(HZAU_PNG);
    for (let i = 0; i < gray.data.length; i += 997) {
      const [r, g, b] = [raster.data[i * 3]!, raster.data[i * 3 + 1]!, raster.data[i * 3 + 2]!];
      assert.equal(gray.data[i], Math.round(0.299 * r + 0.587 * g + 0.114 * b), `pixel ${i}`);
    }
  });

  it('gray PNGs come back with R = G = B (sharp widens them to sRGB), so toGray is lossless', async () => {
    const src = pattern(9, 4);
    const raster = await decodeRaster(await encodePng(src));
    assert.equal(raster.channels, 3);
    for (let i = 0; i < src.data.length; i++) {
      assert.deepEqual([...raster.data.subarray(i * 3, i * 3 + 3)], Array(3).fill(src.data[i]), `pixel ${i}`);
    }
  });

  it('keepGray: a gray PNG or JPEG comes back as 1 channel with the same gray; colour stays RGB', async () => {
    const src = pattern(64, 48);
    const jpg = await encodeJpeg(src, 80);
    const withAlpha = await sharp(Buffer.from(src.data), { raw: { width: 64, height: 48, channels: 1 } })
      .toColourspace('b-w')
      .joinChannel(Buffer.alloc(64 * 48, 200), { raw: { width: 64, height: 48, channels: 1 } })
      .png()
      .toBuffer();
    for (const [what, bytes] of [
      ['gray PNG', await encodePng(src)],
      ['gray JPEG', jpg],
      ['gray + alpha PNG', withAlpha],
    ] as const) {
      const kept = await decodeRaster(bytes, { keepGray: true });
      assert.equal(kept.channels, 1, what);
      assert.deepEqual(toGray(kept), toGray(await decodeRaster(bytes)), what);
    }
    const screen = await decodeRaster(HZAU_PNG, { keepGray: true });
    assert.equal(screen.channels, 3);
    assert.deepEqual(toGray(screen), toGray(await decodeRaster(HZAU_PNG)));
  });

  it('applies a JPEG EXIF orientation: the pixels graded are the picture a viewer (and the mask editor) shows', async () => {
    // Shown upright: 48 wide, 64 high, top half white, bottom half black. Stored turned a quarter
    // left (64 × 48) with orientation 6, "rotate 90° clockwise to display", as phones and some
    // consoles write it. The stored raster used to be graded as is, lying on its side.
    const upright = new Uint8Array(48 * 64).fill(255, 0, 48 * 32);
    const stored = await sharp(Buffer.from(upright), { raw: { width: 48, height: 64, channels: 1 } })
      .rotate(270)
      .toColourspace('b-w')
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    assert.equal((await sharp(stored).metadata()).width, 64, 'stored on its side');
    for (const keepGray of [false, true]) {
      const gray = toGray(await decodeRaster(stored, { keepGray }));
      assert.deepEqual([gray.width, gray.height], [48, 64]);
      const mean = (from: number, to: number) =>
        gray.data.subarray(from * 48, to * 48).reduce((a, v) => a + v, 0) / ((to - from) * 48);
      assert.ok(mean(0, 28) > 240 && mean(36, 64) < 15, `top ${mean(0, 28)}, bottom ${mean(36, 64)}`);
    }
  });

  it('gives typed errors for non-images, empty input and missing files', async () => {
    const isCode = (code: string) => (e: unknown) => e instanceof ImageDecodeError && e.code === code;
    await assert.rejects(decodeGray(Buffer.from('{"not":"an image"}')), isCode('not_image'));
    await assert.rejects(decodeGray(Buffer.alloc(0)), isCode('not_image'));
    await assert.rejects(
      decodeGray('/nonexistent/scan.png'),
      (e: unknown) => isCode('unreadable')(e) && /nonexistent\/scan\.png/.test(String(e)),
    );
    const png = await encodePng(pattern(32, 32));
    await assert.rejects(decodeGray(png.subarray(0, 60)), isCode('not_image'));
    await assert.rejects(decodeRaster('/nonexistent/scan.png'), isCode('unreadable'));
  });

  it('refuses an SVG (a drawing librsvg would render at any size it declares) before sharp renders it', async () => {
    // 300 bytes declaring 6000×6600 with a wide blur held a grading worker over 2 minutes and 1.2 GB;
    // a small one shows the refusal. WebP, TIFF and GIF still decode.
    const svg = (xml: string) =>
      Buffer.from(
        `${xml}<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><filter id="f"><feGaussianBlur stdDeviation="9"/></filter><rect width="64" height="48" fill="#777" filter="url(#f)"/></svg>`,
      );
    for (const bytes of [svg(''), svg('<?xml version="1.0"?>\n'), svg('\uFEFF  \n')]) {
      await assert.rejects(
        decodeRaster(bytes),
        (e: unknown) => e instanceof ImageDecodeError && e.code === 'not_image' && /SVG/.test(e.message),
      );
    }
    const black = sharp({ create: { width: 40, height: 30, channels: 3, background: '#000' } });
    for (const encoded of [black.clone().webp(), black.clone().tiff(), black.clone().gif()]) {
      const r = await decodeRaster(await encoded.toBuffer());
      assert.deepEqual([r.width, r.height], [40, 30]);
    }
  });
});
