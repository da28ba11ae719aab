import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { encodeBmp8 } from './bmp-decode.ts';
import { decodeGray, encodeJpeg, encodePng } from './image-codec.ts';
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

  it('flattens RGBA onto black', async () => {
    const rgba = await sharp(Buffer.from([255, 255, 255, 0, 255, 255, 255, 255]), {
      raw: { width: 2, height: 1, channels: 4 },
    })
      .png()
      .toBuffer();
    const g = await decodeGray(rgba);
    assert.deepEqual([...g.data], [0, 255]);
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
  });
});
