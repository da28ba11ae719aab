import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import pino from 'pino';
import type { Sql } from 'postgres';
import { createDatabaseClient } from '../db/database-client.ts';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import type { Principal } from './principal.ts';
import { createSessionCache, type SessionCache } from './session-cache.ts';

// The cache's promise "nothing is served while LISTEN is down", tested on a real outage of the
// connection (a TCP pipe the test cuts), not only a backend terminated and at once reconnected.

let db: TestDatabase;
let proxy: TcpProxy;
let sql: Sql;
let cache: SessionCache;

before(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  sql = createDatabaseClient({ url: url.href, max: 2, connectTimeoutSeconds: 1 });
  // A watchdog far beyond the test's waits: whatever stops the cache serving here is the close itself.
  cache = createSessionCache({ sql, log: pino({ level: 'silent' }), ttlSeconds: 600, watchdogMs: 60_000 });
});
after(async () => {
  await cache.close();
  await proxy.restore().catch(() => {});
  await sql.end({ timeout: 1 });
  await proxy.close();
  await db.drop();
});

const hash = Buffer.alloc(32, 7);
const principal: Principal = {
  userId: '00000000-0000-4000-8000-000000000001',
  email: 'p@example.com',
  fullName: null,
  roles: ['farmer'],
  csrfToken: 'csrf',
  sessionHash: hash,
};
/** Puts the principal and reports whether it is served (the cache refuses puts while not listening). */
const putAndGet = () => {
  cache.put(hash, principal, 600, cache.generation());
  return cache.get(hash) !== undefined;
};

test('a cut LISTEN connection stops the cache serving at once, and it serves again once back', async () => {
  await waitFor(() => putAndGet(), { timeoutMs: 5_000 });
  await proxy.cut();
  // "At once": on the connection's close, not the watchdog's next ping (a minute away). Not a fixed
  // sleep: a loaded machine could run a 50 ms timer before the event loop read the close.
  await waitFor(() => cache.get(hash) === undefined, {
    what: 'the cache to stop serving the cached principal once LISTEN is down',
    timeoutMs: 10_000,
  });
  // The announcements of any change made now are lost: the cached principal must not be served.
  assert.equal(putAndGet(), false, 'cached a principal while LISTEN was down');
  await proxy.restore();
  await waitFor(() => putAndGet(), { timeoutMs: 10_000 });
});
