import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeGray } from '@cti/imaging';
import sharp from 'sharp';
import { encodeMaskPng } from './mask-images.ts';
import type { Mask } from './mask-ops.ts';

/** A blob and a few specks on an odd-sized canvas (rows whose length is no multiple of anything). */
function sampleMask(width: number, height: number, seed: number): Mask {
  const data = new Uint8Array(width * height);
  let s = seed;
  const rand = () => {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    return s / 2 ** 32;
  };
  const [cx, cy, rx, ry] = [
    width * rand(),
    height * rand(),
    5 + width * rand() * 0.3,
    5 + height * rand() * 0.3,
  ];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) data[y * width + x] = 1;
  for (let k = 0; k < 20; k++) data[Math.floor(rand() * data.length)] = 1;
  return { data, width, height };
}

test('encodeMaskPng: an 8-bit gray PNG whose pixels are the mask as 0/255, as sharp would encode it', async () => {
  for (const [w, h, seed] of [
    [640, 480, 1],
    [97, 33, 2],
    [1, 1, 3],
    [940, 720, 4],
  ] as const) {
    const mask = sampleMask(w, h, seed);
    const png = await encodeMaskPng(mask);
    const meta = await sharp(png).metadata();
    assert.deepEqual(
      [meta.format, meta.width, meta.height, meta.channels, meta.depth, meta.space],
      ['png', w, h, 1, 'uchar', 'b-w'],
    );
    const plane = Uint8Array.from(mask.data, (v) => (v === 1 ? 255 : 0));
    const viaSharp = await sharp(plane, { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    assert.deepEqual((await decodeGray(png)).data, (await decodeGray(viaSharp)).data, `${w}×${h}`);
    assert.deepEqual((await decodeGray(png)).data, plane, `${w}×${h} pixels`);
  }
  const empty = await encodeMaskPng({ data: new Uint8Array(640 * 480), width: 640, height: 480 });
  assert.ok(empty.length < 2048, `an empty 640×480 mask takes ${empty.length} bytes`);
  assert.ok((await decodeGray(empty)).data.every((v) => v === 0));
});

test('encodeMaskPng: one mask after another has only its own pixels (the scanlines are a kept buffer), rows of odd widths included', async () => {
  for (const [w, h, seed] of [
    [640, 480, 5],
    [640, 480, 6],
    [97, 33, 7],
    [640, 480, 8],
    [101, 7, 9],
  ] as const) {
    const mask = sampleMask(w, h, seed);
    const plane = Uint8Array.from(mask.data, (v) => (v === 1 ? 255 : 0));
    assert.deepEqual((await decodeGray(await encodeMaskPng(mask))).data, plane, `${w}×${h} seed ${seed}`);
  }
  const empty = await encodeMaskPng({ data: new Uint8Array(640 * 480), width: 640, height: 480 });
  assert.ok(
    (await decodeGray(empty)).data.every((v) => v === 0),
    'an empty mask after a full one',
  );
});
