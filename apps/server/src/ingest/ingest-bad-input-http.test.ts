import assert from 'node:assert/strict';
import { type ClientRequest, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { signWebhook } from '@cti/contracts';
import { exampleWebhookBody } from '@cti/contracts/testing';
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
