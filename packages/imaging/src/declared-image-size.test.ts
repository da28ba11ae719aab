import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { declaredImageSize } from './declared-image-size.ts';

const black = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#000' } });

test('declaredImageSize reads WebP, TIFF and GIF headers as well as PNG/JPEG/BMP, decoding nothing', async () => {
  assert.deepEqual(await declaredImageSize(await black(8000, 6000).webp({ lossless: true }).toBuffer()), {
    width: 8000,
    height: 6000,
  });
  assert.deepEqual(await declaredImageSize(await black(300, 200).tiff().toBuffer()), {
    width: 300,
    height: 200,
  });
  assert.deepEqual(await declaredImageSize(await black(40, 30).gif().toBuffer()), { width: 40, height: 30 });
  assert.deepEqual(await declaredImageSize(await black(64, 48).png().toBuffer()), { width: 64, height: 48 });
});

test('declaredImageSize is undefined for bytes that are no image', async () => {
  assert.equal(await declaredImageSize(new Uint8Array(0)), undefined);
  assert.equal(await declaredImageSize(Buffer.from('not an image at all')), undefined);
});

test('declaredImageSize does not hand an SVG to librsvg: it declares no size (decodeRaster refuses it)', async () => {
  // Reading a 56 MB SVG's size through sharp parsed the whole document (1.8 GB RSS); a small one shows
  // that sharp is not asked: it would answer 6000×6600.
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="6000" height="6600"><rect width="1" height="1"/></svg>',
  );
  assert.deepEqual(
    await sharp(svg)
      .metadata()
      .then((m) => [m.width, m.height]),
    [6000, 6600],
  );
  assert.equal(await declaredImageSize(svg), undefined);
});
