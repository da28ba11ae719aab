import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { waitFor } from '@cti/testkit';
import { Hono } from 'hono';
import { listen, type RunningServer } from '../http-server.ts';
import { type SseSend, sseStream } from './sse.ts';

type Client = { text(): string; waitFor(pattern: RegExp): Promise<string>; close(): void; status: number };

// A raw HTTP client on a real socket, so the test sees exactly the bytes on the wire.
function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      let body = '';
      const waiters: (() => void)[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        for (const w of waiters.splice(0)) w();
      });
      res.on('error', () => {});
      const waitFor = async (pattern: RegExp) => {
        const deadline = Date.now() + 5000;
        while (!pattern.test(body)) {
          if (Date.now() > deadline)
            throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(body)}`);
          await new Promise<void>((r) => {
            waiters.push(r);
            setTimeout(r, 100);
          });
        }
        return body;
      };
      resolve({ text: () => body, waitFor, close: () => req.destroy(), status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('sseStream over a real socket', () => {
  const subscribers = new Set<SseSend>();
  let unsubscribed = 0;
  let lastEventIds: (string | undefined)[] = [];
  const shutdown = new AbortController();
  const app = new Hono();
  app.get('/events', (c) =>
    sseStream(c, {
      heartbeatMs: 100,
      retryMs: 1500,
      shutdown: shutdown.signal,
      subscribe: (send, { lastEventId }) => {
        lastEventIds.push(lastEventId);
        subscribers.add(send);
        return () => {
          subscribers.delete(send);
          unsubscribed++;
        };
      },
    }),
  );
  let server: RunningServer | undefined;
  const url = async () => {
    server ??= await listen({ app, host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${server.port}/events`;
  };
  after(async () => {
    shutdown.abort();
    await server?.close();
  });
  // waitFor's 15 s, not 100 polls of 20 ms: a loaded machine can take longer than 2 s to see a
  // socket close.
  const until = (check: () => boolean) => waitFor(check, { what: String(check) });

  it('sends retry, events (JSON and multi-line text) and heartbeat comments', async () => {
    const client = await connect(await url());
    assert.equal(client.status, 200);
    await until(() => subscribers.size === 1);
    const [send] = [...subscribers];
    await Promise.all([
      send!({ event: 'scan', id: '42', data: { id: 's1', status: 'graded' } }),
      send!({ data: 'line one\nline two' }),
    ]);
    const body = await client.waitFor(/: heartbeat\n\n[\s\S]*: heartbeat\n\n/);
    assert.ok(body.startsWith('retry: 1500\n\n'), body);
    assert.ok(body.includes('event: scan\ndata: {"id":"s1","status":"graded"}\nid: 42\n\n'), body);
    assert.ok(body.includes('data: line one\ndata: line two\n\n'), body);
    client.close();
    await until(() => unsubscribed === 1 && subscribers.size === 0);
  });

  it('passes Last-Event-ID to the subscriber and cleans up each of several clients', async () => {
    lastEventIds = [];
    const before = unsubscribed;
    const a = await connect(await url(), { 'Last-Event-ID': '41' });
    const b = await connect(await url());
    await until(() => subscribers.size === 2);
    assert.deepEqual(lastEventIds.sort(), ['41', undefined].sort());
    a.close();
    await until(() => unsubscribed === before + 1 && subscribers.size === 1);
    // The remaining client still gets events and heartbeats.
    await [...subscribers][0]!({ event: 'scan', data: 'x' });
    await b.waitFor(/event: scan\ndata: x/);
    b.close();
    await until(() => unsubscribed === before + 2 && subscribers.size === 0);
  });

  it('ends open streams at shutdown so the server can close', async () => {
    const client = await connect(await url());
    await until(() => subscribers.size === 1);
    const before = unsubscribed;
    shutdown.abort();
    await until(() => unsubscribed === before + 1);
    const closed = server!.close();
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('close hung')), 3000)),
    ]);
    server = undefined;
    client.close();
  });
});
