import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { encodePng } from './image-codec.ts';
import { pngIsPlainGray } from './png-header.ts';
import { pattern } from './test-fixtures.ts';

const raw = (channels: 1 | 2 | 3 | 4) =>
  sharp(Buffer.alloc(8 * 6 * channels, 90), { raw: { width: 8, height: 6, channels } });

test('pngIsPlainGray reads 8-bit gray (± alpha) from the header, and agrees with sharp', async () => {
  const cases: [string, Buffer, boolean | null][] = [
    ['gray', await encodePng(pattern(16, 9)), true],
    ['gray + alpha', await raw(2).toColourspace('b-w').png().toBuffer(), true],
    ['RGB', await raw(3).png().toBuffer(), false],
    ['RGBA', await raw(4).png().toBuffer(), false],
    ['palette', await raw(3).png({ palette: true }).toBuffer(), false],
    ['16-bit gray', await raw(1).toColourspace('grey16').png().toBuffer(), false],
    ['JPEG', await raw(1).toColourspace('b-w').jpeg().toBuffer(), null],
    ['truncated PNG', (await encodePng(pattern(16, 9))).subarray(0, 20), null],
  ];
  for (const [what, bytes, expected] of cases) {
    assert.equal(pngIsPlainGray(bytes), expected, what);
    if (expected === null) continue;
    const m = await sharp(bytes).metadata();
    assert.equal(
      m.space === 'b-w' && m.depth === 'uchar' && !m.hasProfile,
      expected,
      `${what}: sharp agrees`,
    );
  }
});

test('pngIsPlainGray: a gray PNG carrying an iCCP chunk is not plain gray (the decoder would apply it)', async () => {
  const gray = await encodePng(pattern(16, 9));
  const withProfile = await raw(3).withIccProfile('srgb').png().toBuffer();
  const at = withProfile.indexOf('iCCP') - 4;
  const iccp = withProfile.subarray(at, at + 12 + withProfile.readUInt32BE(at));
  const spliced = Buffer.concat([gray.subarray(0, 33), iccp, gray.subarray(33)]);
  assert.equal(pngIsPlainGray(spliced), false);
});
