import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type LocalS3, startS3rver } from '@cti/testkit';
import sharp from 'sharp';
import { createImageSizeReader } from './image-size.ts';

// The mask editor must submit a mask of exactly the image's size: read from S3 with a ranged GET
// (s3rver); the header parsing itself is @cti/imaging's imageHeaderSize (image-header-size.test.ts).

let s3: LocalS3;
before(async () => {
  s3 = await startS3rver({ buckets: ['sizes'] });
});
after(() => s3?.close());

test('the reader finds the size of a large image in S3 (ranged GET of its start) and remembers it', async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  const big = await sharp({
    create: { width: 1600, height: 1200, channels: 3, background: { r: 0, g: 0, b: 0 } },
    // Noise makes the PNG far larger than the 64 KiB read.
  })
    .composite([
      {
        input: Buffer.from(Array.from({ length: 1600 * 1200 * 3 }, (_, i) => (i * 7919) % 251)),
        raw: { width: 1600, height: 1200, channels: 3 },
      },
    ])
    .png()
    .toBuffer();
  assert.ok(big.length > 65_536);
  await s3.client.send(new PutObjectCommand({ Bucket: 'sizes', Key: 'a/image.png', Body: big }));
  const reader = createImageSizeReader({
    settings: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true },
  });
  assert.deepEqual(await reader.sizeOf('sizes', 'a/image.png'), { width: 1600, height: 1200 });
  await s3.client.send(
    new PutObjectCommand({ Bucket: 'sizes', Key: 'a/image.png', Body: Buffer.from('gone') }),
  );
  assert.deepEqual(await reader.sizeOf('sizes', 'a/image.png'), { width: 1600, height: 1200 }, 'remembered');
  await assert.rejects(reader.sizeOf('sizes', 'missing.png'));
});
