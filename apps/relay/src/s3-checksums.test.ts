// Real S3 returns x-amz-checksum-sha256 on HEAD (ChecksumMode ENABLED) for objects uploaded with one;
// s3rver never does. A pass-through proxy in front of s3rver adds that header to HEAD responses, so the
// relay's handling of store checksums runs against real S3 wire responses.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { silentLogger } from '@cti/runtime';
import { createLocalS3Client, type LocalS3, startS3rver } from '@cti/testkit';
import { createRelay } from './relay-core.ts';
import { headObject } from './s3-objects.ts';
import { makeCapture, uploadCapture } from './test-captures.ts';
import { fakeClock } from './test-clock.ts';
import { startReceiver } from './test-receiver.ts';

let s3: LocalS3;
/** Checksum headers the proxy adds to HEAD responses, by object key suffix. */
const injected = new Map<string, Record<string, string>>();
let proxyUrl: string;
let closeProxy: () => Promise<void>;

before(async () => {
  s3 = await startS3rver({ buckets: ['cti-checksums'] });
  const proxy = createServer((req, res) => {
    const upstream = request(
      { host: '127.0.0.1', port: s3.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const path = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
        const extra =
          req.method === 'HEAD' ? [...injected].find(([suffix]) => path.endsWith(suffix))?.[1] : undefined;
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...extra });
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  closeProxy = () => new Promise((resolve) => proxy.close(() => resolve()));
});
after(async () => {
  await closeProxy();
  await s3.close();
});

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('HEAD reports a full-object sha256 and ignores composite (multipart) checksums', async (t) => {
  const client = createLocalS3Client({ endpoint: proxyUrl });
  t.after(() => client.destroy());
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const image = capture.files.get('image.png') as Buffer;
  const key = `${capture.dir}image.png`;
  injected.set(key, { 'x-amz-checksum-sha256': b64(sha(image)), 'x-amz-checksum-type': 'FULL_OBJECT' });
  assert.deepEqual(await headObject(client, { bucket: s3.bucket, key }), {
    size: image.length,
    etag: (await headObject(s3.client, { bucket: s3.bucket, key }))?.etag,
    sha256: sha(image),
  });
  injected.set(key, { 'x-amz-checksum-sha256': `${b64(sha(image))}-3`, 'x-amz-checksum-type': 'COMPOSITE' });
  assert.equal((await headObject(client, { bucket: s3.bucket, key }))?.sha256, null);
  assert.equal(await headObject(client, { bucket: s3.bucket, key: `${capture.dir}nope.png` }), null);
});

test("the store's checksum goes into object_details, and a mismatch with meta.json is rejected unsent", async (t) => {
  const client = createLocalS3Client({ endpoint: proxyUrl });
  const receiver = await startReceiver({ secrets: ['s'] });
  t.after(async () => {
    client.destroy();
    await receiver.close();
  });
  const relay = createRelay({
    s3: client,
    config: { webhookUrl: receiver.url, webhookSecrets: ['s'], budgetMs: 5000, httpTimeoutMs: 5000 },
    log: silentLogger(),
    clock: fakeClock().clock,
    source: 'test',
  });
  const good = makeCapture();
  const bad = makeCapture();
  for (const c of [good, bad]) await uploadCapture(s3.client, s3.bucket, c);
  const goodHash = good.meta.image_sha256;
  injected.set(`${good.dir}image.png`, {
    'x-amz-checksum-sha256': b64(goodHash),
    'x-amz-checksum-type': 'FULL_OBJECT',
  });
  injected.set(`${bad.dir}image.png`, {
    'x-amz-checksum-sha256': b64('00'.repeat(32)),
    'x-amz-checksum-type': 'FULL_OBJECT',
  });

  assert.equal((await relay.relayObject({ bucket: s3.bucket, key: good.metaKey })).kind, 'delivered');
  const details = receiver.for(good.dir)[0]?.body.object_details as { name: string; sha256: string | null }[];
  assert.equal(details.find((d) => d.name === 'image.png')?.sha256, goodHash);

  const outcome = await relay.relayObject({ bucket: s3.bucket, key: bad.metaKey });
  assert.equal(outcome.kind, 'rejected');
  assert.match(
    outcome.kind === 'rejected' ? outcome.reason : '',
    /^image.png: the store's sha256 0{64} differs from meta.json's/,
  );
  assert.equal(receiver.for(bad.dir).length, 0);
});
