import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { encodeBmp8 } from './bmp-decode.ts';
import { imageHeaderSize } from './image-header-size.ts';

// Real encoder output (sharp's PNG and JPEG, our BMP encoder), and headers declaring a size no
// decoder should be asked to allocate.

const image = (format: 'png' | 'jpeg', width: number, height: number, progressive = false) => {
  const img = sharp({ create: { width, height, channels: 3, background: { r: 40, g: 40, b: 40 } } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ progressive }).toBuffer();
};

test('PNG, JPEG (baseline, progressive) and BMP headers give width and height; anything else gives nothing', async () => {
  assert.deepEqual(imageHeaderSize(await image('png', 640, 480)), { width: 640, height: 480 });
  assert.deepEqual(imageHeaderSize(await image('jpeg', 940, 720)), { width: 940, height: 720 });
  assert.deepEqual(imageHeaderSize(await image('jpeg', 309, 213, true)), { width: 309, height: 213 });
  const bmp = encodeBmp8({ data: new Uint8Array(309 * 213), width: 309, height: 213 });
  assert.deepEqual(imageHeaderSize(bmp), { width: 309, height: 213 });
  assert.equal(imageHeaderSize(Buffer.from('not an image at all')), undefined);
  assert.equal(imageHeaderSize((await image('png', 10, 10)).subarray(0, 20)), undefined, 'cut short');
  assert.equal(imageHeaderSize((await image('jpeg', 10, 10)).subarray(0, 30)), undefined, 'cut short');
  assert.equal(imageHeaderSize(bmp.subarray(0, 20)), undefined, 'cut short');
});

test('a header declaring a huge image is read as such, without decoding; a zero side is no size', async () => {
  const png = Buffer.from(await image('png', 16, 16));
  png.writeUInt32BE(16000, 16);
  png.writeUInt32BE(16000, 20);
  assert.deepEqual(imageHeaderSize(png), { width: 16000, height: 16000 });
  png.writeUInt32BE(0, 16);
  assert.equal(imageHeaderSize(png), undefined);
  const bmp = Buffer.from(encodeBmp8({ data: new Uint8Array(16), width: 4, height: 4 }));
  bmp.writeInt32LE(20000, 18);
  bmp.writeInt32LE(-30000, 22); // top-down
  assert.deepEqual(imageHeaderSize(bmp), { width: 20000, height: 30000 });
});

test('a JPEG whose EXIF orientation turns it a quarter (5–8) gives the size a viewer shows', async () => {
  const img = sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 9, g: 9, b: 9 } } });
  for (const orientation of [5, 6, 7, 8]) {
    const jpeg = await img.clone().jpeg().withMetadata({ orientation }).toBuffer();
    assert.deepEqual(imageHeaderSize(jpeg), { width: 48, height: 64 }, `orientation ${orientation}`);
  }
  for (const orientation of [1, 2, 3, 4]) {
    const jpeg = await img.clone().jpeg().withMetadata({ orientation }).toBuffer();
    assert.deepEqual(imageHeaderSize(jpeg), { width: 64, height: 48 }, `orientation ${orientation}`);
  }
});
