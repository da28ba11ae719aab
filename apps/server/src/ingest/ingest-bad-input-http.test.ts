import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { type ClientRequest, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { signWebhook } from '@cti/contracts';
import { exampleWebhookBody } from '@cti/contracts/testing';
import { DRAIN_FACTOR } from '@cti/runtime';
import { waitFor } from '@cti/testkit';
import { countRows, listenTestApp, TEST_SECRET, useTestApp } from '../test-helpers.ts';

// Bad input that only a real socket can produce: chunked oversize bodies, lying Content-Length,
// clients that disconnect mid-body. The in-process table is ingest-bad-input.test.ts.

const ctx = useTestApp();

const body = () => exampleWebhookBody();

/** POST /ingest/webhook on a raw socket (bodies fetch cannot send); `send` writes the body. Resolves with the status. */
function rawPost(
  port: number,
  headers: OutgoingHttpHeaders,
  send: (req: ClientRequest) => void,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/ingest/webhook', method: 'POST', headers },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    send(req);
  });
}

describe('bad input through a real listening server', () => {
  const LIMIT = 1024 * 1024;

  /**
   * The way Python's urllib and many HTTP libraries post: write the request and the WHOLE body, and
   * only then read the answer. Resolves with the status line, or the socket error that cut it short.
   */
  function postAllThenRead(port: number, body: Buffer): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1').split('\r\n')[0] ?? ''));
      const head =
        'POST /ingest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n`;
      socket.write(head);
      // Written fully before anything is read: the write only completes if the server reads it all.
      socket.write(body, () => socket.pause() && socket.resume());
    });
  }

  test('a client that sends the whole oversized body before reading gets the 413 (Node socket)', async () => {
    const http = await listenTestApp(ctx.server);
    try {
      const status = await postAllThenRead(http.port, Buffer.alloc(4 * LIMIT, 0x20));
      assert.equal(status, 'HTTP/1.1 413 Payload Too Large');
    } finally {
      await http.close();
    }
    await ctx.server.ingestionLog.flush();
    const [log] = await ctx.db.sql`SELECT http_status, bytes_in FROM ingestion_log ORDER BY id DESC LIMIT 1`;
    assert.deepEqual({ ...log }, { http_status: 413, bytes_in: 4 * LIMIT });
  });

  test("Python's urllib posting 6 MiB reads the 413 and its JSON error", async () => {
    const http = await listenTestApp(ctx.server);
    const script = [
      'import sys, urllib.request, urllib.error',
      `req = urllib.request.Request("http://127.0.0.1:${http.port}/ingest/webhook", data=b" " * ${6 * LIMIT},`,
      '  headers={"Content-Type": "application/json"}, method="POST")',
      'try:',
      '  urllib.request.urlopen(req, timeout=20); print("no error")',
      'except urllib.error.HTTPError as e:',
      '  print(e.code, e.read().decode())',
    ].join('\n');
    try {
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.env.CTI_PYTHON ?? '/usr/bin/python3', ['-c', script], (err, stdout, stderr) =>
          err ? reject(new Error(`python failed: ${stderr}`)) : resolve(stdout),
        ),
      );
      assert.match(out, /^413 \{"error":"body_too_large"/);
      assert.match(out, /the limit is 1048576 bytes/);
    } finally {
      await http.close();
    }
  });

  test(`a body over ${DRAIN_FACTOR}× the limit is not drained: cut off, logged 413, the server serves on`, async () => {
    const http = await listenTestApp(ctx.server);
    try {
      const huge = Buffer.alloc((DRAIN_FACTOR + 2) * LIMIT, 0x20);
      const status = await postAllThenRead(http.port, huge);
      // Either the answer arrived before the cut or the socket was reset under the writer.
      assert.match(status, /^(HTTP\/1\.1 413 |error E(PIPE|CONNRESET))/);
      await ctx.server.ingestionLog.flush();
      const [log] = await ctx.db
        .sql`SELECT http_status, bytes_in FROM ingestion_log ORDER BY id DESC LIMIT 1`;
      assert.equal(log?.http_status, 413);
      assert.ok(log?.bytes_in <= huge.length, 'bytes_in counts what was read, never more than was sent');
      const res = await fetch(`http://127.0.0.1:${http.port}/healthz`);
      assert.equal(res.status, 200);
    } finally {
      await http.close();
    }
  });

  test('a chunked body without Content-Length is cut off at the limit with 413', async () => {
    const http = await listenTestApp(ctx.server);
    try {
      const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
      const headers = {
        ...signWebhook({ body: big, secret: TEST_SECRET }),
        'content-type': 'application/json',
      };
      const status = await rawPost(http.port, headers, (req) => {
        // Several writes without a Content-Length → Transfer-Encoding: chunked.
        for (let offset = 0; offset < big.length; offset += 64 * 1024)
          req.write(big.subarray(offset, offset + 64 * 1024));
        req.end();
      });
      assert.equal(status, 413);
    } finally {
      await http.close();
    }
    await ctx.server.ingestionLog.flush();
    const [log] = await ctx.db.sql`SELECT http_status, bytes_in FROM ingestion_log ORDER BY id DESC LIMIT 1`;
    assert.equal(log?.http_status, 413);
    assert.ok(log?.bytes_in > 1024 * 1024, 'bytes_in counts what was read before the cut');
  });

  test('a client that disconnects mid-body is logged as 400 body_incomplete, not a server error', async () => {
    const http = await listenTestApp(ctx.server);
    const before = await countRows(ctx.db.sql);
    try {
      const payload = Buffer.from(JSON.stringify(body()));
      const headers = {
        ...signWebhook({ body: payload, secret: TEST_SECRET }),
        'content-type': 'application/json',
        'content-length': String(payload.length),
        expect: '100-continue',
      };
      const req = httpRequest({
        host: '127.0.0.1',
        port: http.port,
        path: '/ingest/webhook',
        method: 'POST',
        headers,
      });
      req.on('error', () => {});
      // "100 Continue": the server has dispatched the request and is reading its body.
      await new Promise<void>((resolve) => {
        req.once('continue', resolve);
        req.flushHeaders();
      });
      req.write(payload.subarray(0, 100));
      req.destroy();
      await waitFor(
        async () => {
          await ctx.server.ingestionLog.flush();
          return (await countRows(ctx.db.sql)).ingestionLog === before.ingestionLog + 1;
        },
        { what: "the aborted request's log row" },
      );
    } finally {
      await http.close();
    }
    const [log] = await ctx.db
      .sql`SELECT http_status, error_code, bytes_in FROM ingestion_log ORDER BY id DESC LIMIT 1`;
    assert.deepEqual(
      { ...log, bytes_in: undefined },
      { http_status: 400, error_code: 'body_incomplete', bytes_in: undefined },
    );
    assert.ok(log?.bytes_in <= 100, 'at most the bytes that were sent (a reset may discard unread ones)');
  });

  test('a lying Content-Length over the limit is 413 before reading, and its log row is still written', async () => {
    const http = await listenTestApp(ctx.server);
    try {
      const payload = Buffer.from(JSON.stringify(body()));
      const headers = {
        ...signWebhook({ body: payload, secret: TEST_SECRET }),
        'content-type': 'application/json',
        'content-length': '99999999999',
      };
      const status = await rawPost(http.port, headers, (req) => req.write(payload));
      assert.equal(status, 413);
    } finally {
      await http.close();
    }
    await ctx.server.ingestionLog.flush();
    const [log] = await ctx.db.sql`SELECT http_status, bytes_in FROM ingestion_log ORDER BY id DESC LIMIT 1`;
    assert.deepEqual({ ...log }, { http_status: 413, bytes_in: 2 ** 31 - 1 });
  });

  test('GET on the webhook route is 404 and writes no ingestion_log row', async () => {
    const before = await countRows(ctx.db.sql);
    const res = await ctx.server.app.request('/ingest/webhook');
    assert.equal(res.status, 404);
    await ctx.server.ingestionLog.flush();
    assert.equal((await countRows(ctx.db.sql)).ingestionLog, before.ingestionLog);
  });
});
