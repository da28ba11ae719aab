import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createLocalS3Client, waitFor } from '@cti/testkit';
import { createOutbox } from '../outbox/outbox.ts';
import { fakeCapture, outboxTempDir } from '../test-support/outbox-fixtures.ts';
import { createUploader } from './uploader.ts';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** A plain HTTP server in the store's place; records what it was sent. */
async function startEndpoint(answer: Answer) {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => answer(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A captive portal / transparent proxy / wrong S3_ENDPOINT: 200 and an HTML page to everything. */
const portalPage: Answer = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(req.method === 'HEAD' ? undefined : '<html><body>Welcome to FarmNet Wi-Fi</body></html>');
};

async function drainAgainst(endpoint: string, { multipart = false } = {}) {
  const t = outboxTempDir();
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  cleanups.push(t.remove, outbox.close);
  for (let i = 0; i < 3; i++) await outbox.commitCapture(fakeCapture(i, { imageBytes: 40_000 }));
  const errors: string[] = [];
  const uploader = createUploader({
    outbox,
    s3: createLocalS3Client({ endpoint }),
    bucket: 'cti-dev',
    concurrency: 2,
    // A threshold below the 40 kB image takes the multipart path (lib-storage, CompleteMultipartUpload).
    multipartThresholdBytes: multipart ? 10_000 : 16 * 1024 * 1024,
    backoffBaseMs: 50,
    backoffCapMs: 200,
  });
  uploader.events.on('upload-error', (e) => errors.push(e.message));
  uploader.start();
  await waitFor(() => errors.length >= 3, { what: 'failed attempts', timeoutMs: 15_000 });
  const lastError = outbox.summary().lastError; // before the stop records 'abandoned at shutdown'
  await uploader.stop({ abandonAfterMs: 0 });
  return { outbox, errors, lastError };
}

for (const multipart of [false, true]) {
  test(`an endpoint answering 200 + HTML to everything: nothing counts as uploaded (${multipart ? 'multipart' : 'PutObject'})`, {
    timeout: 60_000,
  }, async () => {
    const portal = await startEndpoint(portalPage);
    const { outbox, errors, lastError } = await drainAgainst(portal.endpoint, { multipart });
    assert.ok(
      portal.requests.some((r) => r.startsWith('PUT ')),
      portal.requests.join('\n'),
    );
    const summary = outbox.summary();
    assert.equal(summary.pendingCaptures, 3);
    assert.equal(summary.uploadedTotal, 0);
    assert.equal(summary.quarantined, 0, 'transient: sent again once the endpoint is the store');
    for (const capture of outbox.list()) {
      assert.equal(capture.state, 'pending');
      for (const o of outbox.show(capture.captureId)?.objects ?? []) assert.notEqual(o.state, 'uploaded');
    }
    const request = multipart ? 'CompleteMultipartUpload' : 'PutObject';
    assert.match(
      errors[0] ?? '',
      new RegExp(`NotStoredError: ${request} raw/.*without an ETag: not an S3 store`),
    );
    assert.match(lastError?.message ?? '', /captive portal, a proxy or a wrong S3_ENDPOINT/);
  });
}

test('a store answering with a checksum other than ours: not counted as uploaded', {
  timeout: 60_000,
}, async () => {
  const other = Buffer.alloc(32, 7).toString('base64');
  const proxy = await startEndpoint((req, res) => {
    res.writeHead(200, { etag: '"0123456789abcdef0123456789abcdef"', 'x-amz-checksum-sha256': other });
    res.end(req.method === 'HEAD' ? undefined : '');
  });
  const { outbox, errors } = await drainAgainst(proxy.endpoint);
  assert.equal(outbox.summary().uploadedTotal, 0);
  assert.equal(outbox.summary().pendingCaptures, 3);
  assert.match(
    errors[0] ?? '',
    new RegExp(`store reports checksum ${other.replace(/[+/]/g, '\\$&')}, ours is`),
  );
});
