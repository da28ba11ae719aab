// What each S3 peer actually does, pinned: the product's documentation (docs/s3-stores.md) and the
// uploader's choices rest on these answers, so a store upgrade that changes one fails here first.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ALL_S3_PEERS, type S3Peer, withS3Peers } from './s3-peers.ts';

/** The HTTP status and S3 error code a request ends with (200 when it succeeds). */
async function outcome(request: Promise<unknown>): Promise<string> {
  try {
    await request;
    return '200';
  } catch (error) {
    const e = error as { $metadata?: { httpStatusCode?: number }; Code?: string; name?: string };
    return `${e.$metadata?.httpStatusCode} ${e.Code ?? e.name}`;
  }
}

const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const put = (peer: S3Peer, bucket: string, key: string, extra: Record<string, unknown> = {}) =>
  peer.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('bytes'), ...extra }));

withS3Peers(ALL_S3_PEERS, (peer) => {
  const real = () => peer().kind === 'rgw';

  test('object-created events name the bucket and the decoded key', async () => {
    const bucket = await peer().createBucket({ events: true });
    const quiet = await peer().createBucket();
    await put(peer(), bucket, 'raw/dev 1/a+b/meta.json');
    await put(peer(), quiet, 'raw/x/meta.json');
    const events = peer().events.filter((e) => e.bucket === bucket || e.bucket === quiet);
    assert.deepEqual(
      events.map((e) => [e.bucket, e.key, /ObjectCreated:Put/.test(e.eventName)]),
      [[bucket, 'raw/dev 1/a+b/meta.json', true]],
    );
  });

  test('SigV4: a wrong secret is refused by RGW (403), accepted by s3rver', async () => {
    const bucket = await peer().createBucket();
    const forged = new S3Client({
      endpoint: peer().endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: peer().credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    const result = await outcome(
      forged.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: Buffer.from('x') })),
    );
    forged.destroy();
    assert.equal(result, real() ? '403 SignatureDoesNotMatch' : '200');
  });

  test('If-None-Match: * on PutObject: RGW answers 412 for an existing key, yet emits an ObjectCreated event; s3rver overwrites', async () => {
    const bucket = await peer().createBucket({ events: true });
    await put(peer(), bucket, 'k');
    const again = put(peer(), bucket, 'k', { IfNoneMatch: '*', Body: Buffer.from('longer bytes') });
    assert.equal(await outcome(again), real() ? '412 PreconditionFailed' : '200');
    const head = await peer().client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }));
    assert.equal(head.ContentLength, real() ? 5 : 12);
    // RGW 16.2 notifies a refused conditional PUT as if it had stored it: consumers must look.
    assert.equal(peer().events.filter((e) => e.bucket === bucket).length, 2);
  });

  test('Content-MD5 is verified by RGW (400 BadDigest), not by s3rver', async () => {
    const bucket = await peer().createBucket();
    const wrongMd5 = createHash('md5').update('other').digest('base64');
    assert.equal(
      await outcome(put(peer(), bucket, 'k', { ContentMD5: wrongMd5 })),
      real() ? '400 BadDigest' : '200',
    );
  });

  test('x-amz-checksum-sha256 is neither verified nor returned by either store', async () => {
    const bucket = await peer().createBucket();
    const wrong = sha256b64(Buffer.from('other bytes'));
    assert.equal(await outcome(put(peer(), bucket, 'k', { ChecksumSHA256: wrong })), '200');
    const head = await peer().client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'k', ChecksumMode: 'ENABLED' }),
    );
    assert.equal(head.ChecksumSHA256, undefined);
  });

  test('multipart: If-None-Match ignored on completion; ETags differ between the stores', async () => {
    const bucket = await peer().createBucket();
    const key = 'big.png';
    await put(peer(), bucket, key);
    const { UploadId } = await peer().client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
    );
    const part = await peer().client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(1024, 1),
      }),
    );
    const done = await peer().client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        IfNoneMatch: '*',
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const head = await peer().client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(head.ContentLength, 1024, 'the existing object was replaced despite If-None-Match');
    if (real()) {
      assert.equal(done.ETag ?? '', '', 'RGW: CompleteMultipartUpload answers an empty ETag');
      assert.match(head.ETag ?? '', /^"[0-9a-f]{32}-1"$/, 'RGW: S3-style multipart ETag');
    } else {
      assert.match(head.ETag ?? '', /^"[0-9a-f]{32}"$/, 's3rver: no -N suffix');
    }
  });
});
