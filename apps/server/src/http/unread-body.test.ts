import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { listenTestApp, useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// Review r12 F2: an answer sent before the request body was read (413, 415, 401, 403 CSRF) said
// `Connection: keep-alive`, then the socket was dropped: a keep-alive client's next request on it
// failed with ECONNRESET. Real port, Node's keep-alive agent with one socket.

let farmId = '';
useTestApp(
  {},
  {
    async seed({ db, server: app }) {
      farmId = await seedFarm(db.sql, 'Alpha Farm');
      await seedUser(db.sql, 'admin@example.com', ['admin']);
      server = await listenTestApp(app);
      const client = apiClient(app.app);
      const res = await client.signIn('admin@example.com', TEST_PASSWORD);
      assert.equal(res.status, 200);
      cookie = client.cookie!;
      csrf = client.csrf!;
    },
  },
);
let server: Awaited<ReturnType<typeof listenTestApp>> | undefined;
let cookie = '';
let csrf = '';
after(() => server?.close());

type Answer = { status: number; connection: string | undefined; socket: unknown; body: string };

function send(
  agent: http.Agent,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(`${server!.url}${path}`, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          connection: res.headers.connection,
          socket: req.socket,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a refusal sent before the body was read', () => {
  const big = (n: number) => Buffer.from(JSON.stringify({ review_label: 'x'.repeat(n) }));
  const cases: [string, number, Record<string, string>, Buffer][] = [
    ['body over the limit', 413, {}, big(1_100_000)],
    ['wrong content type', 415, { 'content-type': 'text/plain' }, big(500_000)],
    ['no CSRF header', 403, { 'x-csrf-token': '' }, big(500_000)],
    ['no session', 401, { cookie: '' }, big(500_000)],
  ];
  for (const [what, status, override, body] of cases) {
    test(`${what} (${status}, ${body.length} bytes): the next request on the same keep-alive agent is answered`, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const headers = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf, ...override };
        const refused = await send(agent, 'PATCH', `/api/v1/farms/${farmId}`, headers, body);
        assert.equal(refused.status, status, refused.body);
        assert.equal(refused.connection, 'keep-alive', 'the body was drained');
        const next = await send(agent, 'GET', '/api/v1/me', { cookie });
        assert.equal(next.status, 200, next.body);
        assert.equal(next.socket, refused.socket, 'on the same connection');
      } finally {
        agent.destroy();
      }
    });
  }

  test('beyond the drain bound (8 MiB) the answer says Connection: close, and the client reconnects', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const headers = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf };
      const refused = await send(agent, 'PATCH', `/api/v1/farms/${farmId}`, headers, big(9 * 1024 * 1024));
      assert.equal(refused.status, 413, refused.body);
      assert.equal(refused.connection, 'close');
      const next = await send(agent, 'GET', '/api/v1/me', { cookie });
      assert.equal(next.status, 200, next.body);
      assert.notEqual(next.socket, refused.socket, 'a new connection');
    } finally {
      agent.destroy();
    }
  });

  test('a body that is read keeps the connection: the same socket answers again', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const headers = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf };
      const ok = await send(
        agent,
        'PATCH',
        `/api/v1/farms/${farmId}`,
        headers,
        Buffer.from('{"name":"Alpha"}'),
      );
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.connection, 'keep-alive');
      const next = await send(agent, 'GET', '/api/v1/me', { cookie });
      assert.equal(next.socket, ok.socket);
    } finally {
      agent.destroy();
    }
  });
});

describe('a page form refused before it was read (review r13 F4)', () => {
  const form = (n: number) => Buffer.from(`email=${'x'.repeat(n)}&password=p`);
  const formHeaders = {
    'content-type': 'application/x-www-form-urlencoded',
    'sec-fetch-site': 'same-origin',
  };
  const cases: [string, number, Record<string, string>, Buffer][] = [
    ['form over the limit', 413, formHeaders, form(3_000_000)],
    ['cross-site form', 403, { ...formHeaders, 'sec-fetch-site': 'cross-site' }, form(500_000)],
  ];
  for (const [what, status, headers, body] of cases) {
    test(`${what} (${status}, ${body.length} bytes): the next request on the same keep-alive agent is answered`, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const refused = await send(agent, 'POST', '/sign-in', headers, body);
        assert.equal(refused.status, status, refused.body.slice(0, 300));
        assert.equal(refused.connection, 'keep-alive', 'the body was drained');
        const next = await send(agent, 'GET', '/sign-in', {});
        assert.equal(next.status, 200);
        assert.equal(next.socket, refused.socket, 'on the same connection');
      } finally {
        agent.destroy();
      }
    });
  }

  test('a chunked form over the limit is refused as it is read, with Connection: close; the client reconnects', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const refused = await new Promise<Answer>((resolve, reject) => {
        const req = http.request(
          `${server!.url}/sign-in`,
          { method: 'POST', agent, headers: formHeaders },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({
                status: res.statusCode!,
                connection: res.headers.connection,
                socket: req.socket,
                body: '',
              }),
            );
          },
        );
        req.on('error', reject);
        const chunk = Buffer.alloc(256 * 1024, 'x');
        for (let i = 0; i < 12; i++) req.write(chunk);
        req.end();
      });
      assert.equal(refused.status, 413);
      assert.equal(refused.connection, 'close');
      const next = await send(agent, 'GET', '/sign-in', {});
      assert.equal(next.status, 200);
      assert.notEqual(next.socket, refused.socket, 'a new connection');
    } finally {
      agent.destroy();
    }
  });
});
