import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import { test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ALL_S3_PEERS, type S3Peer, withS3Peers } from '@cti/testkit';
import { isS3Unavailable } from '../grading/grading-errors.ts';
import { putObject, readVerifiedObject } from '../grading/object-store.ts';
import { createLeanS3Client, type LeanS3Client } from './lean-s3-client.ts';
import type { S3Settings } from './s3-settings.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test-secret' };

function leanFor(settings: S3Settings, credentials = CREDENTIALS, maxAttempts = 3): LeanS3Client {
  const sdk = new S3Client({
    region: settings.region,
    ...(settings.endpoint !== undefined && { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    credentials,
  });
  return createLeanS3Client({ sdk, settings, maxAttempts });
}

const peerSettings = (peer: S3Peer): S3Settings => ({
  endpoint: peer.endpoint,
  region: peer.region,
  forcePathStyle: true,
});

const body = (bytes: number, seed: number) =>
  Buffer.from(Array.from({ length: bytes }, (_, i) => (i * seed) & 255));

withS3Peers(ALL_S3_PEERS, (peer) => {
  test('PUT, GET and DELETE: bytes, content type and sha256 metadata as the SDK sees them, awkward keys too', async (t) => {
    const s3 = leanFor(peerSettings(peer()), peer().credentials);
    t.after(() => s3.destroy());
    const bucket = await peer().createBucket();
    for (const [i, key] of [
      'processed/cap_1/job-7-overlay.png',
      'raw/dev 1/a+b (2)!*.png',
      "raw/ünï/it's~x=y&z.png",
    ].entries()) {
      const bytes = body(150_000 + i, 7 + i);
      const hex = sha256(bytes);
      await s3.putObject(bucket, key, bytes, {
        contentType: 'image/png',
        sha256Hex: hex,
        metadata: { sha256: hex },
      });
      const head = await peer().client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(head.ContentType, 'image/png');
      assert.equal(head.ContentLength, bytes.length);
      assert.equal(head.Metadata?.sha256, hex);
      const viaSdk = await peer().client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(sha256(await viaSdk.Body!.transformToByteArray()), hex, key);
      const got = await readVerifiedObject(s3, { bucket, key, sha256: hex });
      assert.equal(sha256(got), hex, key);
      // DELETE (a failed job's outputs): gone for the SDK; a key that is not there is no error.
      await s3.deleteObject(bucket, key);
      await assert.rejects(
        peer().client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
        (err: Error) => err.name === 'NotFound',
        key,
      );
      await s3.deleteObject(bucket, key);
    }
  });

  test("putObject/readVerifiedObject through the lean client: the worker's outputs and checks", async (t) => {
    const s3 = leanFor(peerSettings(peer()), peer().credentials);
    t.after(() => s3.destroy());
    const bucket = await peer().createBucket();
    const bytes = body(1000, 3);
    const stored = await putObject(s3, { bucket, key: 'k/mask.png', body: bytes, contentType: 'image/png' });
    assert.deepEqual(stored, { bucket, key: 'k/mask.png', sha256: sha256(bytes), sizeBytes: 1000 });
    await peer().client.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'k/other.png', Body: body(1000, 5) }),
    );
    await assert.rejects(readVerifiedObject(s3, { bucket, key: 'k/other.png', sha256: sha256(bytes) }), {
      name: 'GradingError',
      code: 'sha256_mismatch',
    });
    await assert.rejects(readVerifiedObject(s3, { bucket, key: 'k/gone.png', sha256: sha256(bytes) }), {
      name: 'GradingError',
      code: 'image_missing',
    });
    await assert.rejects(
      readVerifiedObject(s3, { bucket, key: 'k/mask.png', sha256: sha256(bytes) }, { maxBytes: 999 }),
      { name: 'GradingError', code: 'image_too_large' },
    );
  });

  test('errors in the SDK shape: NoSuchKey 404 (not an outage), NoSuchBucket (an outage)', async (t) => {
    const s3 = leanFor(peerSettings(peer()), peer().credentials);
    t.after(() => s3.destroy());
    const bucket = await peer().createBucket();
    const missing = await s3.getObject(bucket, 'nothing/here.png').catch((e: unknown) => e);
    assert.equal((missing as Error).name, 'NoSuchKey');
    assert.equal((missing as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 404);
    assert.equal(isS3Unavailable(missing), false);
    const noBucket = await s3.getObject(`${bucket}-absent`, 'x.png').catch((e: unknown) => e);
    assert.equal((noBucket as Error).name, 'NoSuchBucket');
    assert.equal(isS3Unavailable(noBucket), true);
  });

  test('a store that checks signatures refuses wrong credentials (403, an outage) and a wrong payload hash', async (t) => {
    if (peer().kind === 's3rver') return t.skip('s3rver checks no signatures');
    const rgw = peer();
    const bucket = await rgw.createBucket();
    const s3 = leanFor(peerSettings(rgw), { ...rgw.credentials, secretAccessKey: 'not-the-secret' });
    t.after(() => s3.destroy());
    const err = await s3
      .putObject(bucket, 'a.png', Buffer.from('x'), {
        contentType: 'image/png',
        sha256Hex: sha256(Buffer.from('x')),
      })
      .catch((e: unknown) => e);
    assert.equal((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 403);
    assert.equal((err as Error).name, 'SignatureDoesNotMatch');
    assert.equal(isS3Unavailable(err), true);
    // A payload hash that is not the body's is refused too (what x-amz-content-sha256 protects).
    const good = leanFor(peerSettings(rgw), rgw.credentials);
    t.after(() => good.destroy());
    const wrong = await good
      .putObject(bucket, 'b.png', Buffer.from('y'), {
        contentType: 'image/png',
        sha256Hex: sha256(Buffer.from('x')),
      })
      .catch((e: unknown) => e);
    assert.ok(wrong instanceof Error, 'a PUT whose payload hash is not its body must fail');
  });
});

/** A stand-in S3 that answers each request with the next scripted response (status, XML error code). */
async function scriptedServer(script: { status: number; code?: string }[]) {
  const seen: { method: string; url: string; headers: Record<string, unknown> }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    const next = script[Math.min(seen.length - 1, script.length - 1)]!;
    res.writeHead(next.status, { 'content-type': 'application/xml' });
    res.end(
      next.code ? `<Error><Code>${next.code}</Code><Message>scripted ${next.code}</Message></Error>` : 'ok',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test('throttling and 5xx are retried up to maxAttempts, then thrown as the SDK would (an outage)', async (t) => {
  const server = await scriptedServer([{ status: 503, code: 'SlowDown' }]);
  t.after(() => server.close());
  const s3 = leanFor({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3.destroy());
  const err = await s3.getObject('b', 'k.png').catch((e: unknown) => e);
  assert.equal((err as Error).name, 'SlowDown');
  assert.equal((err as Error).message, 'scripted SlowDown');
  assert.equal(isS3Unavailable(err), true);
  assert.equal(server.seen.length, 3);
  assert.deepEqual(
    server.seen.map((r) => [r.method, r.url]),
    Array(3).fill(['GET', '/b/k.png']),
  );
  assert.match(String(server.seen[0]!.headers.authorization), /^AWS4-HMAC-SHA256 Credential=test\//);
});

test('a transient 500 then 200 succeeds; a 403 is not retried', async (t) => {
  const flaky = await scriptedServer([{ status: 500, code: 'InternalError' }, { status: 200 }]);
  t.after(() => flaky.close());
  const s3 = leanFor({ endpoint: flaky.endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3.destroy());
  await s3.putObject('b', 'k.png', Buffer.from('x'), {
    contentType: 'image/png',
    sha256Hex: sha256(Buffer.from('x')),
  });
  assert.equal(flaky.seen.length, 2);
  assert.equal(
    flaky.seen[1]!.headers['x-amz-checksum-sha256'],
    createHash('sha256').update('x').digest('base64'),
  );

  const denied = await scriptedServer([{ status: 403, code: 'AccessDenied' }]);
  t.after(() => denied.close());
  const s3d = leanFor({ endpoint: denied.endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3d.destroy());
  const err = await s3d.getObject('b', 'k.png').catch((e: unknown) => e);
  assert.equal((err as Error).name, 'AccessDenied');
  assert.equal(denied.seen.length, 1);
});

test('a store that is not there: ECONNREFUSED after the retries, classified as an outage', async (t) => {
  const server = await scriptedServer([{ status: 200 }]);
  const endpoint = server.endpoint;
  await server.close();
  const s3 = leanFor({ endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3.destroy());
  const err = await s3.getObject('b', 'k.png').catch((e: unknown) => e);
  assert.equal((err as { code?: string }).code, 'ECONNREFUSED');
  assert.equal(isS3Unavailable(err), true);
});

test('an aborted signal ends the request (the job deadline), without retrying', async (t) => {
  const server = await scriptedServer([{ status: 503, code: 'SlowDown' }]);
  t.after(() => server.close());
  const s3 = leanFor({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3.destroy());
  const controller = new AbortController();
  controller.abort(new Error('deadline'));
  await assert.rejects(s3.getObject('b', 'k.png', { signal: controller.signal }));
  assert.equal(server.seen.length, 0);
});

test('addressing follows the SDK: virtual-hosted on AWS and custom endpoints, path style when configured or for dotted buckets', () => {
  const cases: [S3Settings, string, string][] = [
    [
      { endpoint: undefined, region: 'eu-west-1', forcePathStyle: false },
      'cti-captures',
      'https://cti-captures.s3.eu-west-1.amazonaws.com/raw/dev%201/a%2Bb.png',
    ],
    [
      { endpoint: undefined, region: 'eu-west-1', forcePathStyle: true },
      'cti-captures',
      'https://s3.eu-west-1.amazonaws.com/cti-captures/raw/dev%201/a%2Bb.png',
    ],
    [
      { endpoint: undefined, region: 'us-east-1', forcePathStyle: false },
      'my.dotted.bucket',
      'https://s3.us-east-1.amazonaws.com/my.dotted.bucket/raw/dev%201/a%2Bb.png',
    ],
    [
      { endpoint: 'https://rgw.example.net', region: 'us-east-1', forcePathStyle: false },
      'cti-captures',
      'https://cti-captures.rgw.example.net/raw/dev%201/a%2Bb.png',
    ],
    [
      { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true },
      'cti-captures',
      'http://127.0.0.1:9000/cti-captures/raw/dev%201/a%2Bb.png',
    ],
  ];
  for (const [settings, bucket, url] of cases) {
    const s3 = leanFor(settings);
    assert.equal(s3.objectUrl(bucket, 'raw/dev 1/a+b.png').href, url, JSON.stringify(settings));
    s3.destroy();
  }
});

test('a connection reset in the middle of a GET body rejects the read (never a truncated image)', async (t) => {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': '1000' });
    res.write(Buffer.alloc(500, 1));
    setTimeout(() => res.socket?.destroy(), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s3 = leanFor({ endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3.destroy());
  await assert.rejects(
    readVerifiedObject(s3, { bucket: 'b', key: 'k.png', sha256: sha256(Buffer.alloc(1000, 1)) }),
  );
});

/** A stand-in S3 whose clock runs `aheadMs` ahead: it refuses a request signed more than 15 min from its time, as S3 does. */
async function skewedServer(aheadMs: number) {
  const amzDates: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    const now = Date.now() + aheadMs;
    const amzDate = String(req.headers['x-amz-date']);
    amzDates.push(amzDate);
    const signedAt = Date.parse(
      amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    const date = new Date(now).toUTCString();
    if (Math.abs(signedAt - now) > 15 * 60_000) {
      res.writeHead(403, { 'content-type': 'application/xml', date });
      res.end('<Error><Code>RequestTimeTooSkewed</Code><Message>too skewed</Message></Error>');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', date, 'content-length': '2' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, amzDates, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

test("a clock an hour off the store's: signed again at once with the store's time, and every later request too", async (t) => {
  const server = await skewedServer(3_600_000);
  t.after(() => server.close());
  const s3 = leanFor({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3.destroy());
  const first = await s3.getObject('b', 'k.png');
  first.body.resume();
  await finished(first.body);
  assert.equal(server.amzDates.length, 2, 'refused once, then accepted');
  const second = await s3.getObject('b', 'k.png');
  second.body.resume();
  await finished(second.body);
  assert.equal(server.amzDates.length, 3, 'the offset is kept: the next request is accepted at once');
});

test('a refused signature from a store whose clock agrees with ours is not taken for skew (thrown at once)', async (t) => {
  const server = await scriptedServer([{ status: 403, code: 'SignatureDoesNotMatch' }]);
  t.after(() => server.close());
  const s3 = leanFor({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true });
  t.after(() => s3.destroy());
  const err = await s3.getObject('b', 'k.png').catch((e: unknown) => e);
  assert.equal((err as Error).name, 'SignatureDoesNotMatch');
  assert.equal(server.seen.length, 1);
});
