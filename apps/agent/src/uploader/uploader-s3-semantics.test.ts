import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ALL_S3_PEERS, createLocalS3Client, type S3Peer, waitFor, withS3Peers } from '@cti/testkit';
import { Registry } from 'prom-client';
import { createOutbox } from '../outbox/outbox.ts';
import type { CommitCaptureInput } from '../outbox/outbox-types.ts';
import { fakeBytes, fakeCapture, outboxTempDir, sha256 } from '../test-support/outbox-fixtures.ts';
import {
  assertMetaLastOnce,
  assertSameObjects,
  captureDir,
  expected,
  readBucket,
} from '../test-support/outbox-store-check.ts';
import { type S3ProxyOptions, startS3Proxy } from '../test-support/s3-proxy.ts';
import { createUploader } from './uploader.ts';

// The uploader against two S3 implementations (@cti/testkit's withS3Peers): s3rver, which ignores
// If-None-Match and checks no checksums, and Ceph RGW, a real implementation (SigV4, Content-MD5,
// x-amz-content-sha256, 412 on PutObject). A proxy in front adds what a test needs: in front of
// s3rver it also answers as real S3 does (412, 400 BadDigest); in front of RGW it only records, RGW
// answers for itself. Faults (503 SlowDown, stalls, corruption, HEAD 500) come from the proxy.

const MiB = 1024 * 1024;

withS3Peers(ALL_S3_PEERS, (peer) => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  async function setup(
    proxyOptions: Omit<S3ProxyOptions, 'target'>,
    uploaderOptions: { requestTimeoutMs?: number } = {},
  ) {
    const store: S3Peer = peer();
    const bucket = await store.createBucket({ events: true });
    const s3 = {
      client: store.client,
      bucket,
      /** Objects created in this test's bucket, as the store reported them. */
      get events() {
        return store.events.filter((e) => e.bucket === bucket);
      },
    };
    const semantics = store.kind === 's3rver' ? 'emulate' : 'inspect';
    const proxy = await startS3Proxy({ target: store.endpoint, s3Semantics: semantics, ...proxyOptions });
    cleanups.push(proxy.close);
    const client = createLocalS3Client({ endpoint: proxy.endpoint, credentials: store.credentials });
    cleanups.push(() => client.destroy());
    const t = outboxTempDir();
    const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
    cleanups.push(t.remove, outbox.close);
    const registry = new Registry();
    const uploader = createUploader({
      outbox,
      s3: client,
      bucket,
      concurrency: 2,
      multipartThresholdBytes: 5 * MiB,
      partSizeBytes: 5 * MiB,
      backoffBaseMs: 20,
      backoffCapMs: 200,
      metrics: registry,
      // Well inside drain()'s 60 s: a request RGW leaves unanswered under CI load (seen once, the
      // throttling case hung 60 s) is retried as the product retries it, instead of waiting out the
      // default 120 s allowance past the test's patience.
      requestTimeoutMs: 10_000,
      ...uploaderOptions,
    });
    cleanups.push(() => uploader.stop({ abandonAfterMs: 0 }));
    const drain = async (captures: CommitCaptureInput[]) => {
      for (const c of captures) await outbox.commitCapture(c);
      uploader.start();
      await waitFor(() => outbox.summary().pendingCaptures === 0, { what: 'drain', timeoutMs: 60_000 });
      await uploader.stop();
    };
    return { s3, store, proxy, outbox, registry, uploader, drain };
  }

  const withImage = (c: CommitCaptureInput, data: Buffer): CommitCaptureInput => ({
    ...c,
    files: c.files.map((f) => (f.name === 'image.png' ? { ...f, data } : f)),
  });
  const imageOf = (c: CommitCaptureInput) => c.files.find((f) => f.name === 'image.png')!.data;
  const imageKey = (c: CommitCaptureInput) => `${captureDir(c.captureId)}image.png`;

  /**
   * Our image is already at its key (an earlier attempt landed, its answer was lost), as plain bytes
   * without metadata; drain and check that a 412 was met, nothing was written again, and the object
   * counted as already present.
   */
  async function drainOverOurEarlierImage(
    ctx: Awaited<ReturnType<typeof setup>>,
    capture: CommitCaptureInput,
  ) {
    const { s3, proxy, registry, drain } = ctx;
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: imageKey(capture), Body: imageOf(capture) }),
    );
    await drain([capture]);
    assert.deepEqual(proxy.preconditionFailed, [`PUT /${s3.bucket}/${imageKey(capture)}`]);
    // Counted at the proxy: RGW emits an ObjectCreated event even for a PUT it refused with 412.
    assert.deepEqual(
      proxy.written.filter((w) => w.endsWith(imageKey(capture))),
      [],
      'the image was not stored again',
    );
    assertSameObjects(await readBucket(s3.client, s3.bucket), expected([capture]));
    assert.match(await registry.metrics(), /cti_agent_upload_objects_total\{outcome="already_present"\} 1/);
  }

  test('every PUT and multipart part carries a matching x-amz-checksum-sha256; every object its sha256 metadata', async () => {
    const { s3, proxy, drain } = await setup({});
    const captures = [
      fakeCapture(800),
      withImage(fakeCapture(801), fakeBytes(801, 6 * MiB)),
      fakeCapture(802),
    ];
    await drain(captures);
    // 8 single PUTs + the multipart image's 2 parts.
    assert.equal(proxy.checksums.length, 10, JSON.stringify(proxy.checksums));
    assert.ok(proxy.checksums.every((c) => c.ok));
    // SigV4's payload hash is the capture-time sha256 handed to the signer, and it is the body's.
    const singlePuts = proxy.payloadHashes.filter((p) => !p.path.endsWith(imageKey(captures[1]!)));
    assert.equal(singlePuts.length, 8, JSON.stringify(proxy.payloadHashes));
    assert.ok(proxy.payloadHashes.every((p) => p.ok));
    assert.deepEqual(proxy.preconditionFailed, []);
    const stored = await readBucket(s3.client, s3.bucket);
    assertSameObjects(stored, expected(captures));
    for (const [key, bytes] of stored) {
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
      assert.equal(head.Metadata?.sha256, sha256(bytes), `sha256 metadata of ${key}`);
    }
  });

  test('a key already holding our bytes: 412 to If-None-Match, a HEAD proves them ours, nothing rewritten', async () => {
    const ctx = await setup({});
    const capture = fakeCapture(810);
    // A previous attempt landed but its mark was lost (power cut): plain bytes, no metadata — s3rver's
    // ETag (the MD5) is what proves them ours.
    await drainOverOurEarlierImage(ctx, capture);
  });

  test('a different object at the key: 412, the HEAD disagrees, the capture is quarantined and nothing overwritten', async () => {
    const { s3, outbox, drain } = await setup({});
    const [clash, other] = [fakeCapture(820), fakeCapture(821)];
    const foreign = fakeBytes(9999, imageOf(clash).length); // same size, other bytes
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: imageKey(clash), Body: foreign }));
    await drain([clash, other]);
    const shown = outbox.show(clash.captureId);
    assert.equal(shown?.state, 'quarantined');
    assert.match(shown?.quarantineReason ?? '', /image\.png: .*a different object already exists/);
    const stored = await readBucket(s3.client, s3.bucket);
    assert.equal(sha256(stored.get(imageKey(clash))!), sha256(foreign), 'the foreign object is untouched');
    assert.equal(stored.has(`${captureDir(clash.captureId)}meta.json`), false, 'no meta.json: no webhook');
    assertMetaLastOnce(
      s3.events.filter((e) => e.key.startsWith(captureDir(other.captureId))),
      [other],
    );
  });

  test('multipart: our earlier upload is recognised by its sha256 metadata, a same-sized foreign object is not', async () => {
    const { s3, registry, drain } = await setup({});
    const ours = withImage(fakeCapture(830), fakeBytes(830, 6 * MiB));
    const theirs = withImage(fakeCapture(831), fakeBytes(831, 6 * MiB));
    // Ours arrived before a crash (with the metadata every upload carries); theirs is a foreign object
    // of the same size, which a size-only check would take for the upload.
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: imageKey(ours),
        Body: imageOf(ours),
        Metadata: { sha256: sha256(imageOf(ours)) },
      }),
    );
    await s3.client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: imageKey(theirs), Body: fakeBytes(7, 6 * MiB) }),
    );
    await drain([ours, theirs]);
    assert.equal(s3.events.filter((e) => e.key === imageKey(ours)).length, 1, 'ours was not sent again');
    assert.equal(s3.events.filter((e) => e.key === imageKey(theirs)).length, 2, 'theirs was replaced');
    assertSameObjects(await readBucket(s3.client, s3.bucket), expected([ours, theirs]));
    assert.match(await registry.metrics(), /cti_agent_upload_objects_total\{outcome="already_present"\} 1/);
  });

  test('bytes corrupted in transit: 400 BadDigest quarantines that capture with the reason; the others upload', async () => {
    const captures = [fakeCapture(840), fakeCapture(841), fakeCapture(842)];
    const hit = captures[1]!;
    const { s3, proxy, outbox, drain } = await setup({
      corrupt: (method, path) => method === 'PUT' && path.endsWith(imageKey(hit)),
    });
    await drain(captures);
    assert.deepEqual(
      proxy.checksums.filter((c) => !c.ok).map((c) => c.path),
      [`/${s3.bucket}/${imageKey(hit)}`],
    );
    const shown = outbox.show(hit.captureId);
    assert.equal(shown?.state, 'quarantined');
    // RGW does not check x-amz-checksum-sha256, but it checks the signed payload hash, which the
    // uploader sets to the capture-time sha256: either way the corrupted bytes are refused.
    const refusal = peer().kind === 'rgw' ? 'XAmzContentSHA256Mismatch' : 'BadDigest';
    assert.match(shown?.quarantineReason ?? '', new RegExp(`image\\.png: ${refusal} \\(HTTP 400\\)`));
    assertSameObjects(await readBucket(s3.client, s3.bucket), expected(captures.filter((c) => c !== hit)));
  });

  test('throttling (503 SlowDown) backs off and retries: everything arrives once, nothing quarantined', async () => {
    let refusals = 5;
    const captures = Array.from({ length: 4 }, (_, i) => fakeCapture(850 + i));
    const { s3, proxy, outbox, drain } = await setup({
      throttle: (method) => method === 'PUT' && refusals-- > 0,
    });
    await drain(captures);
    assert.equal(proxy.throttled.length, 5);
    assert.equal(outbox.summary().quarantined, 0);
    assertSameObjects(await readBucket(s3.client, s3.bucket), expected(captures));
    assertMetaLastOnce(s3.events, captures);
  });

  test('a request with no answer is aborted after its time allowance and retried: one copy arrives', async () => {
    let stalls = 1;
    const capture = fakeCapture(860);
    // 1500 ms + 1 ms per 50 bytes of the 20 KB image: a 1900 ms allowance. Not shorter: the retry is not
    // held, and must not time out too on a loaded machine (700 ms did once, at load 12 on 2 cores).
    const { s3, proxy, uploader, drain } = await setup(
      { hold: (method, path) => method === 'PUT' && path.endsWith(imageKey(capture)) && stalls-- > 0 },
      { requestTimeoutMs: 1500 },
    );
    const errors: string[] = [];
    uploader.events.on('upload-error', (e) => errors.push(`${e.name} ${e.kind}: ${e.message}`));
    await drain([capture]);
    assert.equal(proxy.held.length, 1);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^image\.png transient: RequestTimeout: no answer within 1900 ms/);
    assertSameObjects(await readBucket(s3.client, s3.bucket), expected([capture]));
    assertMetaLastOnce(s3.events, [capture]);
  });

  test('a store answering 500 to HEAD for one key: after 3 failed checks the object is re-sent (conditionally), the error named the step', async () => {
    const capture = fakeCapture(870);
    // The first attempt's PUT fails (all 3 SDK tries), so later attempts check before re-sending.
    let refusals = 3;
    const { s3, proxy, uploader, drain } = await setup({
      throttle: (method, path) => method === 'PUT' && path.endsWith(imageKey(capture)) && refusals-- > 0,
      failHead: (_method, path) => path.endsWith(imageKey(capture)),
    });
    const errors: string[] = [];
    uploader.events.on('upload-error', (e) => errors.push(`${e.name}: ${e.message}`));
    await drain([capture]);
    assert.equal(errors.length, 4, errors.join('\n'));
    assert.match(errors[0]!, /^image\.png: SlowDown \(HTTP 503\)/);
    for (const error of errors.slice(1))
      assert.match(error, new RegExp(`^image\\.png: HEAD ${imageKey(capture)}: 500 `));
    assert.equal(proxy.failedHeads.length, 9, 'three failed checks, each HEAD tried 3 times by the SDK');
    assertSameObjects(await readBucket(s3.client, s3.bucket), expected([capture]));
    assertMetaLastOnce(s3.events, [capture]);
  });

  test('…and when the earlier attempt had landed: 412, HEAD still 500, the bytes read back are ours: nothing rewritten', async () => {
    const capture = fakeCapture(871);
    const ctx = await setup({
      throttle: (method, path) =>
        method === 'PUT' && path.endsWith(imageKey(capture)) && ctx.proxy.throttled.length < 3,
      failHead: (_method, path) => path.endsWith(imageKey(capture)),
    });
    // Our bytes are already there (the answer to that earlier attempt was lost), without metadata.
    await drainOverOurEarlierImage(ctx, capture);
  });
});
