import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { silentLogger } from '@cti/runtime';
import { waitFor } from '@cti/testkit';
import { parse } from 'csv-parse/sync';
import { createApp, type ServerApp } from '../app.ts';
import type { Principal } from '../auth/principal.ts';
import { createSessionCache, SESSION_CHANNEL } from '../auth/session-cache.ts';
import { createServerMetrics, type ServerMetrics } from '../metrics.ts';
import { apiClient } from '../test-api-client.ts';
import { countRows, distinctWebhook, signedInit, testConfig } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import { createScanChangeFeed, SCAN_CHANNEL, type ScanChange } from '../web/live/scan-change-feed.ts';
import { createServePools } from './serve-pools.ts';

// `serve`'s pools with a 1 s CTI_DB_REPLY_TIMEOUT_S, against the real Postgres through a proxy that can
// freeze (connections stay open, nothing is forwarded): requests answer 503 instead of hanging, and
// what is healthy but slow (a paused download) or idle (LISTEN) is left alone.

let db: TestDatabase;
let proxy: TcpProxy;
let pools: ReturnType<typeof createServePools>;
let metrics: ServerMetrics;
let server: ServerApp;
let farm: string;
let cookie: string;
const EXPORT_ROWS = 3500;

before(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  metrics = createServerMetrics({ dbPoolMax: 4, defaults: false });
  pools = createServePools({
    config: { databaseUrl: url.href, dbPoolMax: 4, dbConnectTimeoutSeconds: 30, dbReplyTimeoutSeconds: 1 },
    log: silentLogger(),
    metrics,
  });
  server = createApp({ ...pools, config: testConfig(), log: silentLogger(), metrics });
  farm = await seedFarm(db.sql, 'Deadline Farm');
  const device = await seedDevice(db.sql, 'dev-deadline', farm);
  await db.sql`
    INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, gps, captured_at, status)
    SELECT 'dev-deadline.cap_' || i, 'cap_' || i, 's3://b/raw/dev-deadline/2025/01/01/cap_' || i || '/', ${device}, ${farm},
           ST_SetSRID(ST_MakePoint(-79.38, 43.65), 4326), timestamptz '2025-01-01' + i * interval '1 minute', 'ingested'
      FROM generate_series(1, ${EXPORT_ROWS}) i`;
  await seedUser(db.sql, 'admin@example.com', ['admin']);
  const client = apiClient(server.app);
  assert.equal((await client.signIn('admin@example.com', TEST_PASSWORD)).status, 200);
  cookie = client.cookie!;
});
after(async () => {
  proxy.thaw();
  await server.close({ timeoutMs: 1_000 });
  await Promise.all([pools.sql.end({ timeout: 0 }), pools.plannedSql.end({ timeout: 0 })]);
  await proxy.close();
  await db.drop();
});

const silentCount = async () => (await metrics.dbSilentConnections.get()).values[0]?.value ?? 0;

const post = (i: number) => server.app.request('/ingest/webhook', signedInit(distinctWebhook(i)));

/** Posts like the relay: again while the answer is a 503 (a pooled connection still frozen fails once). */
async function postUntilAccepted(i: number): Promise<number[]> {
  const statuses: number[] = [];
  while (statuses.length < 20) {
    const res = await post(i);
    statuses.push(res.status);
    if (res.status !== 503) break;
  }
  return statuses;
}

// Every test waits on conditions; a hang (a request waiting for TCP) fails it instead.
const T = { timeout: 90_000 };

test('the server-side bounds that go with the deadline, and none when it is off (0)', async () => {
  const settings = async (dbReplyTimeoutSeconds: number | undefined) => {
    const opened = createServePools({
      config: { databaseUrl: db.url, dbPoolMax: 1, dbConnectTimeoutSeconds: 5, dbReplyTimeoutSeconds },
      log: silentLogger(),
      metrics,
    });
    try {
      const [row] = await opened.plannedSql<{ statement: string; idle: string }[]>`
        SELECT current_setting('statement_timeout') AS statement,
               current_setting('idle_in_transaction_session_timeout') AS idle`;
      return row;
    } finally {
      await Promise.all([opened.sql.end({ timeout: 0 }), opened.plannedSql.end({ timeout: 0 })]);
    }
  };
  assert.deepEqual({ ...(await settings(30)) }, { statement: '24s', idle: '30s' });
  assert.deepEqual({ ...(await settings(undefined)) }, { statement: '0', idle: '0' });
});

describe('serve on a silent database', () => {
  test(
    'a webhook, an API call and /readyz answer 503 during a freeze; after the thaw the webhook ingests once',
    T,
    async () => {
      assert.equal((await post(1)).status, 201);
      assert.equal((await server.app.request('/readyz')).status, 200);
      const before = await countRows(db.sql);
      proxy.freeze();

      const res = await post(2);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '7');
      assert.equal(((await res.json()) as { error: string }).error, 'database_unavailable');
      const me = await server.app.request('/api/v1/me', { headers: { cookie } });
      assert.equal(me.status, 503);
      assert.equal(me.headers.get('retry-after'), '7');
      const ready = await server.app.request('/readyz');
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { reason: string }).reason, 'database');
      assert.equal((await server.app.request('/healthz')).status, 200);
      assert.ok((await silentCount()) >= 1, 'silent connections are counted');
      const during = await countRows(db.sql);
      assert.equal(during.scans, before.scans, 'nothing written for the refused webhook');
      assert.equal(during.assets, before.assets);
      assert.equal(during.scanEvents, before.scanEvents);

      proxy.thaw();
      const statuses = await postUntilAccepted(2);
      assert.equal(statuses.at(-1), 201, `after the thaw: ${JSON.stringify(statuses)}`);
      assert.equal((await post(2)).status, 200, 'a replay');
      const [scan] =
        await db.sql`SELECT count(*)::int AS n FROM scans WHERE capture_id = ${'cap_1757400002'}`;
      assert.equal(scan!.n, 1, 'ingested exactly once');
      await waitFor(async () => (await server.app.request('/readyz')).status === 200, {
        what: '/readyz ready after the thaw',
        timeoutMs: 30_000,
      });
    },
  );

  test('a download whose reader pauses for longer than the deadline is not cut', T, async () => {
    const res = await server.app.request(`/api/v1/exports/scans.csv?farm_id=${farm}`, {
      headers: { cookie },
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const first = await reader.read();
    text += decoder.decode(first.value, { stream: true });
    // The next batch is fetched; its transaction then waits for this reader, idle for longer than the
    // deadline (a transaction left idle as long is ended on any other connection).
    await waitFor(
      async () =>
        (
          await db.sql`
              SELECT 1 FROM pg_stat_activity
               WHERE datname = current_database() AND query LIKE 'FETCH%cti_stream%'
                 AND state = 'idle in transaction' AND clock_timestamp() - state_change > interval '1500 ms'`
        ).length === 1,
      { what: 'the download idle in its transaction for longer than the deadline', timeoutMs: 30_000 },
    );
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    // Every seeded scan (the webhooks of the first test may land on this farm too).
    assert.equal(rows.filter((r) => r.device_code === 'dev-deadline').length, EXPORT_ROWS);
  });

  test('the session cache and the live scan feed hear announcements again after a freeze', T, async () => {
    const log = silentLogger();
    const cache = createSessionCache({ sql: pools.sql, log, ttlSeconds: 60, watchdogMs: 200 });
    const feed = createScanChangeFeed({ sql: pools.sql, log, watchdogMs: 200 });
    const heard: ScanChange[] = [];
    const unsubscribe = await feed.subscribe((change) => heard.push(change));
    try {
      const principal = (userId: string): Principal => ({
        userId,
        email: `${userId}@example.com`,
        fullName: null,
        roles: [],
        csrfToken: 'x',
        sessionHash: Buffer.from(userId),
      });
      const a = principal(randomUUID());
      const b = principal(randomUUID());
      /** A NOTIFY for `a` reaches the cache: a is forgotten, b is not (not a clear after a reconnect). */
      const cacheHears = async () => {
        const g = cache.generation();
        cache.put(a.sessionHash, a, 60, g);
        cache.put(b.sessionHash, b, 60, g);
        if (!cache.get(a.sessionHash) || !cache.get(b.sessionHash)) return false;
        await db.sql`SELECT pg_notify(${SESSION_CHANNEL}, ${a.userId})`;
        await waitFor(() => cache.get(a.sessionHash) === undefined, { timeoutMs: 2_000 }).catch(() => {});
        return cache.get(a.sessionHash) === undefined && cache.get(b.sessionHash) !== undefined;
      };
      const feedHears = async () => {
        const id = randomUUID();
        await db.sql`SELECT pg_notify(${SCAN_CHANNEL}, ${JSON.stringify({ id, status: 'graded' })})`;
        await waitFor(() => heard.some((c) => c.id === id), { timeoutMs: 2_000 }).catch(() => {});
        return heard.some((c) => c.id === id);
      };
      await waitFor(cacheHears, { what: 'the session cache listening', timeoutMs: 30_000 });
      await waitFor(feedHears, { what: 'the live feed listening', timeoutMs: 30_000 });

      const silentBefore = await silentCount();
      proxy.freeze();
      // The watchdogs' pings go out on the pool: their connections are closed for their silence (one
      // connection or two: postgres.js may pipeline both pings on one, as in one CI run), and the
      // session cache, its ping lost, stops answering from memory until it listens again.
      const deaf = randomUUID();
      await waitFor(
        async () => {
          if ((await silentCount()) < silentBefore + 1) return false;
          const p = principal(deaf);
          cache.put(p.sessionHash, p, 60, cache.generation());
          return cache.get(p.sessionHash) === undefined;
        },
        { what: 'the watchdog pings to fall silent and the cache to stop listening', timeoutMs: 30_000 },
      );
      proxy.thaw();
      await waitFor(cacheHears, { what: 'the session cache listening again', timeoutMs: 60_000 });
      await waitFor(feedHears, { what: 'the live feed listening again', timeoutMs: 60_000 });
    } finally {
      unsubscribe();
      await feed.close();
      await cache.close();
    }
  });
});
