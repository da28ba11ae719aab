import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type LocalS3, startS3rver } from '@cti/testkit';
import { startSignatureProxy } from '../test-s3-signature-proxy.ts';
import { createS3Client } from './s3-client.ts';
import type { S3Settings } from './s3-settings.ts';
import { createUrlSigner } from './url-signer.ts';

// The signer presigns from a per-bucket template instead of running the SDK client's middleware for
// every URL; its URLs must be the very bytes `getSignedUrl` makes (same key encoding, query, signature)
// and must fetch the object from a store that checks SigV4 query signatures and expiry.

process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
const BUCKET = 'cti-signer-test';
const KEYS = [
  'raw/dev-1/2025/09/09/cap_1/image.png',
  'raw/dev 2/a+b=c&d/ü €/image (1).png',
  "raw/it's!*~.-_/x", // characters encodeURIComponent keeps but S3 wants encoded
  'raw//double/slash/',
  'flat.png',
];

let s3: LocalS3;
let proxy: Awaited<ReturnType<typeof startSignatureProxy>>;

before(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] });
  proxy = await startSignatureProxy({ target: s3.endpoint, secretKey: 'S3RVER' });
});
after(async () => {
  await proxy.close();
  await s3.close();
});

async function sdkUrl(settings: S3Settings, bucket: string, key: string, at: Date, ttl: number) {
  const client = createS3Client(settings);
  return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
    expiresIn: ttl,
    signingDate: at,
  });
}

describe('createUrlSigner', () => {
  const at = new Date('2026-12-05T09:30:00.000Z');
  const cases: [string, S3Settings][] = [
    [
      'a custom endpoint, path style',
      { endpoint: 'http://127.0.0.1:4569', region: 'us-east-1', forcePathStyle: true },
    ],
    ['AWS, virtual-hosted', { endpoint: undefined, region: 'eu-west-1', forcePathStyle: false }],
    ['AWS, path style', { endpoint: undefined, region: 'ap-southeast-2', forcePathStyle: true }],
    [
      'https endpoint on its default port',
      { endpoint: 'https://s3.example.net', region: 'us-east-1', forcePathStyle: true },
    ],
  ];
  for (const [label, settings] of cases) {
    test(`the same bytes as getSignedUrl: ${label}`, async () => {
      const signer = createUrlSigner({ settings, ttlSeconds: 300, clock: () => at.getTime() });
      for (const bucket of [BUCKET, 'another-bucket']) {
        for (const key of KEYS) {
          const signed = await signer.sign(bucket, key);
          assert.equal(signed.url, await sdkUrl(settings, bucket, key, at, 300), `${bucket}/${key}`);
          assert.equal(signed.expires_at, '2026-12-05T09:35:00.000Z');
        }
      }
    });
  }

  test('its URLs fetch the object through a signature-checking store; a changed key or expiry is refused', async () => {
    const settings = { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
    const put = createS3Client(settings);
    const bodies = new Map(
      KEYS.filter((k) => !k.endsWith('/')).map((k) => [k, Buffer.from(`bytes of ${k}`)]),
    );
    for (const [Key, Body] of bodies) await put.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
    const signer = createUrlSigner({ settings, publicEndpoint: proxy.endpoint, ttlSeconds: 60 });
    for (const [key, body] of bodies) {
      const { url } = await signer.sign(BUCKET, key);
      const res = await fetch(url);
      assert.equal(res.status, 200, key);
      const got = Buffer.from(await res.arrayBuffer());
      assert.equal(
        createHash('sha256').update(got).digest('hex'),
        createHash('sha256').update(body).digest('hex'),
      );
    }
    const { url } = await signer.sign(BUCKET, 'flat.png');
    assert.equal((await fetch(url.replace('flat.png', 'raw/dev-1/2025/09/09/cap_1/image.png'))).status, 403);
    const past = createUrlSigner({
      settings,
      publicEndpoint: proxy.endpoint,
      ttlSeconds: 60,
      clock: () => Date.now() - 120_000,
    });
    assert.equal((await fetch((await past.sign(BUCKET, 'flat.png')).url)).status, 403, 'expired');
  });

  test('refuses a lifetime over 5 minutes', () => {
    const settings = { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true };
    assert.throws(() => createUrlSigner({ settings, ttlSeconds: 301 }), /at most 300 s/);
  });
});
