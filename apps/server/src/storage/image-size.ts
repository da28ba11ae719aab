import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from './s3-client.ts';
import type { S3Settings } from './s3-settings.ts';

export type ImageSize = { width: number; height: number };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
// JPEG start-of-frame markers (baseline, progressive, lossless…), not DHT (C4), JPG (C8) or DAC (CC).
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/**
 * Width and height from the first bytes of a PNG (IHDR) or JPEG (the first SOF segment); undefined for
 * anything else or when the header is cut short. Reads only what the format puts first, so a ranged
 * GET of the first 64 KiB is enough.
 */
export function imageSizeOf(bytes: Uint8Array): ImageSize | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 24 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    return positive(view.getUint32(16), view.getUint32(20));
  }
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = view.getUint16(at + 2);
    if (SOF.has(marker)) {
      return at + 9 <= bytes.length ? positive(view.getUint16(at + 7), view.getUint16(at + 5)) : undefined;
    }
    at += 2 + length;
  }
  return undefined;
}

const positive = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : undefined);

export type ImageSizeReader = { sizeOf(bucket: string, key: string): Promise<ImageSize | undefined> };

/**
 * Reads an image's size from S3 with a ranged GET of its first 64 KiB (the mask editor must submit a
 * mask of exactly the image's size). Sizes are remembered (objects never change under a key).
 */
export function createImageSizeReader({ settings }: { settings: S3Settings }): ImageSizeReader {
  const client = createS3Client(settings, { maxAttempts: 2 });
  const known = new Map<string, ImageSize>();
  return {
    async sizeOf(bucket, key) {
      const id = `${bucket}/${key}`;
      const cached = known.get(id);
      if (cached) return cached;
      const res = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-65535' }),
      );
      const size = imageSizeOf(await res.Body!.transformToByteArray());
      if (size) {
        if (known.size >= 10_000) known.clear();
        known.set(id, size);
      }
      return size;
    },
  };
}
