import { extname } from 'node:path';
import sharp from 'sharp';
import { decodeBmpGray } from './bmp-decoder.ts';

export type GrayImage = { data: Uint8Array; width: number; height: number };

/**
 * Decode a PNG, JPEG or BMP file's bytes to one-channel 8-bit gray. sharp fails on truncated files
 * (failOn 'warning'), which is what lets the folder source refuse half-written exports.
 */
export async function decodeImageGray(bytes: Buffer, name: string): Promise<GrayImage> {
  if (extname(name).toLowerCase() === '.bmp') return decodeBmpGray(bytes, name);
  const { data, info } = await sharp(bytes, { failOn: 'warning' })
    .removeAlpha()
    .greyscale()
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}
