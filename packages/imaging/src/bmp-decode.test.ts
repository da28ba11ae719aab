import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { decodeBmp, decodeBmpRaster, encodeBmp8 } from './bmp-decode.ts';
import { ImageDecodeError } from './image-decode-error.ts';
import { imageHeaderSize } from './image-header-size.ts';
import { pattern, USTOOL_BMP } from './test-fixtures.ts';

/** A 24- or 32-bit BMP written by hand (bottom-up unless topDown). */
function rgbBmp(
  width: number,
  height: number,
  bpp: 24 | 32,
  px: (x: number, y: number) => [number, number, number],
  topDown = false,
) {
  const stride = Math.ceil((bpp * width) / 32) * 4;
  const buf = new Uint8Array(54 + stride * height);
  const v = new DataView(buf.buffer);
  buf.set([0x42, 0x4d]);
  v.setUint32(2, buf.length, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, topDown ? -height : height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, bpp, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const [r, g, b] = px(x, y);
      buf.set([b, g, r], row + (x * bpp) / 8);
    }
  }
  return buf;
}

/** A bottom-up 1/4-bit palette BMP (4-byte palette entries, clrUsed = palette length). */
function paletteBmp(
  width: number,
  height: number,
  bpp: 1 | 4,
  palette: [number, number, number][],
  index: (x: number, y: number) => number,
) {
  const stride = Math.ceil((bpp * width) / 32) * 4;
  const offset = 54 + palette.length * 4;
  const buf = new Uint8Array(offset + stride * height);
  const v = new DataView(buf.buffer);
  buf.set([0x42, 0x4d]);
  v.setUint32(10, offset, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, bpp, true);
  v.setUint32(46, palette.length, true);
  for (const [i, [r, g, b]] of palette.entries()) buf.set([b, g, r], 54 + i * 4);
  for (let y = 0; y < height; y++) {
    const row = offset + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const bit = x * bpp;
      buf[row + (bit >> 3)]! |= index(x, y) << (8 - bpp - (bit & 7));
    }
  }
  return buf;
}

describe('decodeBmp', () => {
  it('decodes the real 8-bit reference scan', async () => {
    const g = decodeBmp(await readFile(USTOOL_BMP));
    assert.equal(g.width, 309);
    assert.equal(g.height, 213);
    const mean = g.data.reduce((s, v) => s + v, 0) / g.data.length;
    assert.ok(mean > 30 && mean < 70, `mean ${mean}`);
    // Bottom-up storage: the bright skin line is near the top of the decoded image, not the bottom.
    const rowMean = (y: number) => g.data.subarray(y * 309, y * 309 + 309).reduce((s, v) => s + v, 0) / 309;
    const top = Math.max(...Array.from({ length: 40 }, (_, y) => rowMean(y)));
    const bottom = Math.max(...Array.from({ length: 40 }, (_, y) => rowMean(212 - y)));
    assert.ok(top > 2 * bottom, `brightest top row ${top} vs bottom ${bottom}`);
  });

  it('round-trips a generated 8-bit palette BMP with odd width (row padding)', () => {
    const src = pattern(37, 23);
    assert.deepEqual(decodeBmp(encodeBmp8(src)), src);
  });

  it('decodes 24-bit bottom-up and 32-bit top-down BMPs to luma', () => {
    const px = (x: number, y: number): [number, number, number] => [x * 20, y * 30, 100];
    for (const [bpp, topDown] of [
      [24, false],
      [32, true],
    ] as const) {
      const g = decodeBmp(rgbBmp(5, 3, bpp, px, topDown));
      assert.equal(g.width, 5);
      assert.equal(g.height, 3);
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 5; x++) {
          const [r, gg, b] = px(x, y);
          assert.equal(
            g.data[y * 5 + x],
            Math.round(0.299 * r + 0.587 * gg + 0.114 * b),
            `${bpp}-bit at ${x},${y}`,
          );
        }
      }
    }
  });

  it('decodes 1-bit and 4-bit palette BMPs to RGB (row padding, packed pixels)', () => {
    const palette: [number, number, number][] = [
      [0, 0, 0],
      [250, 10, 40],
      [30, 200, 90],
      [5, 60, 255],
    ];
    const index = (x: number, y: number, bpp: number) => (x + 2 * y) % (bpp === 1 ? 2 : 4);
    for (const bpp of [1, 4] as const) {
      const r = decodeBmpRaster(paletteBmp(11, 3, bpp, palette, (x, y) => index(x, y, bpp)));
      assert.equal(r.channels, 3);
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 11; x++) {
          const p = (y * 11 + x) * 3;
          assert.deepEqual([...r.data.subarray(p, p + 3)], palette[index(x, y, bpp)], `${bpp}-bit ${x},${y}`);
        }
      }
    }
  });

  it('rejects unsupported and broken BMPs with a named reason', () => {
    const bmp16 = rgbBmp(4, 4, 24, () => [0, 0, 0]);
    new DataView(bmp16.buffer).setUint16(28, 16, true);
    assert.throws(
      () => decodeBmp(bmp16, 'x.bmp'),
      (e: unknown) =>
        e instanceof ImageDecodeError && e.code === 'unsupported_bmp' && /16-bit/.test(e.message),
    );
    const rle = encodeBmp8(pattern(8, 8));
    new DataView(rle.buffer).setUint32(30, 1, true);
    assert.throws(
      () => decodeBmp(rle),
      (e: unknown) => e instanceof ImageDecodeError && /compressed/.test(e.message),
    );
    const cut = encodeBmp8(pattern(64, 64)).subarray(0, 2000);
    assert.throws(
      () => decodeBmp(cut),
      (e: unknown) => e instanceof ImageDecodeError && e.code === 'truncated',
    );
  });
});

describe('OS/2 1.x BMP (12-byte core header)', () => {
  /** A 24-bit OS/2 BMP: width and height unsigned 16-bit, rows always bottom-up. */
  function coreBmp(width: number, height: number, px: (x: number, y: number) => number) {
    const stride = Math.ceil((24 * width) / 32) * 4;
    const buf = new Uint8Array(26 + stride * height);
    const v = new DataView(buf.buffer);
    buf.set([0x42, 0x4d]);
    v.setUint32(2, buf.length, true);
    v.setUint32(10, 26, true);
    v.setUint32(14, 12, true);
    v.setUint16(18, width, true);
    v.setUint16(20, height, true);
    v.setUint16(22, 1, true);
    v.setUint16(24, 24, true);
    for (let y = 0; y < height; y++) {
      const row = 26 + (height - 1 - y) * stride;
      for (let x = 0; x < width; x++) buf.fill(px(x, y), row + x * 3, row + x * 3 + 3);
    }
    return buf;
  }

  it('reads a height of 32768 or more as unsigned and bottom-up, the size imageHeaderSize declares', () => {
    // 40000 rows: read as signed 16-bit it was -25536, a top-down image 25536 rows high.
    const bmp = coreBmp(2, 40_000, (x, y) => (y === 0 ? 200 : x * 50));
    assert.deepEqual(imageHeaderSize(bmp), { width: 2, height: 40_000 });
    const gray = decodeBmp(bmp);
    assert.deepEqual([gray.width, gray.height], [2, 40_000]);
    assert.deepEqual([...gray.data.subarray(0, 4)], [200, 200, 0, 50], 'first row is the last one stored');
  });
});
