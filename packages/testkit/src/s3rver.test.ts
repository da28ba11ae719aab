import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
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

test('a listing past 1,000 keys pages through continuation tokens (s3rver patched: no DES on Node 24)', async (t) => {
  const s3 = await startS3rver({ buckets: ['cti-test'] });
  t.after(() => s3.close());
  const keys = Array.from({ length: 1_003 }, (_, i) => `raw/dev-1/${String(i).padStart(4, '0')}/meta.json`);
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys
        .slice(i, i + 50)
        .map((Key) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: '{}' }))),
    );
  }
  const listed: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'raw/', ContinuationToken: token }),
    );
    listed.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
    pages++;
  } while (token);
  assert.equal(pages, 2);
  assert.deepEqual(listed, keys);
  // A token that is not one of its own is a 400 naming it, not a 500.
  await assert.rejects(
    s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: 'bm90IGEgdG9rZW4gYXQgYWxsIQ==' }),
    ),
    (err: Error) => err.name === 'InvalidArgument',
  );
});
