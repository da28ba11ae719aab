import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type ImageSize, imageHeaderSize } from '@cti/imaging';
import { createS3Client } from './s3-client.ts';
import type { S3Settings } from './s3-settings.ts';

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
      const size = imageHeaderSize(await res.Body!.transformToByteArray());
      if (size) {
        if (known.size >= 10_000) known.clear();
        known.set(id, size);
      }
      return size;
    },
  };
}
