import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startS3rver } from './s3rver.ts';
import { waitFor } from './wait-for.ts';

test('streamed uploads are stored byte-exact and emit created events', async (t) => {
  const s3 = await startS3rver({ buckets: ['cti-test'] });
  t.after(() => s3.close());
  const body = Buffer.alloc(300_000, 7);
  body.write('header');
  await s3.client.send(
    new PutObjectCommand({
      Bucket: s3.bucket,
      Key: 'raw/dev 1/a+b.png',
      Body: Readable.from([body]),
      ContentLength: body.length,
    }),
  );
  const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'raw/dev 1/a+b.png' }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  assert.equal(sha(bytes), sha(body));
  const event = await waitFor(() => s3.events[0], { what: 'an event' });
  assert.equal(event.key, 'raw/dev 1/a+b.png');
  assert.equal(event.bucket, 'cti-test');
  assert.match(event.eventName, /ObjectCreated/);
});
