import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import type { Sql } from 'postgres';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import { createDatabaseClient, serverTimeoutsFor } from './database-client.ts';
import { isConnectionLost, isRetryableDatabaseError } from './database-errors.ts';
import { createWireExpectations, type SilentConnection } from './reply-deadline-socket.ts';

// The reply deadline against the real Postgres through a proxy that can freeze (connections stay open,
// nothing is forwarded): what fails, what is left alone, and what the server cleans up.

let db: TestDatabase;
let proxy: TcpProxy;
let silent: SilentConnection[];
const clients: Sql[] = [];
before(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((sql) => sql.end({ timeout: 0 })));
  proxy.thaw();
  proxy.freezeWhen(() => false);
});
after(async () => {
  await proxy.close();
  await db.drop();
});

/** A pool through the proxy with a 1 s reply deadline (by default); closed connections are recorded in `silent`. */
function client(max = 1, replyTimeoutSeconds = 1): Sql {
  silent = [];
  const url = new URL(db.url);
  url.port = String(proxy.port);
  const sql = createDatabaseClient({
    url: url.toString(),
    max,
    connectTimeoutSeconds: 30,
    replyTimeoutSeconds,
    ...serverTimeoutsFor(replyTimeoutSeconds),
    onSilentConnection: (info) => silent.push(info),
  });
  clients.push(sql);
  return sql;
}

const code = (expected: string) => (err: unknown) => {
  assert.equal((err as { code?: string }).code, expected, String(err));
  return true;
};

/** Sends a query that the proxy swallows and waits until the deadline closes its connection: at least 1 s passed. */
async function sentinel(sql: Sql): Promise<void> {
  const tag = `sentinel_${Math.random().toString(36).slice(2)}`;
  proxy.freezeWhen((chunk) => chunk.includes(tag));
  await assert.rejects(sql.unsafe(`SELECT '${tag}'`), code('REPLY_TIMEOUT'));
}

describe('reply deadline', () => {
  // Every test waits on conditions; a hang (a query left waiting for ever) fails it instead.
  const T = { timeout: 60_000 };
  test(
    'a query on a connection that falls silent fails as a lost connection; the pool reconnects once the database answers',
    T,
    async () => {
      const sql = client();
      await sql`SELECT 1`;
      proxy.freeze();
      const err = await sql`SELECT 2`.catch((e: unknown) => e);
      assert.equal((err as { code?: string }).code, 'REPLY_TIMEOUT', String(err));
      assert.ok(isConnectionLost(err) && isRetryableDatabaseError(err));
      assert.match(
        (err as Error).message,
        new RegExp(`127\\.0\\.0\\.1:${proxy.port} answered nothing for 1 s`),
      );
      assert.deepEqual(silent, [{ address: `127.0.0.1:${proxy.port}`, silentMs: 1000 }]);
      // A query sent while the connection closes fails as lost (postgres.js patch: not left waiting).
      await assert.rejects(sql`SELECT 3`, (e: unknown) => isConnectionLost(e));
      // Still frozen: a new connection's startup is owed a reply too.
      await assert.rejects(sql`SELECT 3`, code('REPLY_TIMEOUT'));
      assert.equal(silent.length, 2);
      proxy.thaw();
      const [row] = await sql<{ n: number }[]>`SELECT 4::int AS n`;
      assert.equal(row!.n, 4);
    },
  );

  test(
    'LISTEN and idle pool connections owe nothing: silent for longer than the deadline, they stay open',
    T,
    async () => {
      const sql = client(2);
      const [first] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const pid = first!.pid;
      const got: string[] = [];
      let subscribed = 0;
      await sql.listen(
        'w35_deadline',
        (payload) => got.push(payload),
        () => subscribed++,
      );
      // Two deadlines pass (each sentinel is closed for its silence) while LISTEN and `pid` sit idle.
      await sentinel(sql);
      await sentinel(sql);
      assert.equal(silent.length, 2, 'only the sentinels were closed');
      await db.sql`SELECT pg_notify('w35_deadline', 'still here')`;
      await waitFor(() => got.includes('still here'), { what: 'the NOTIFY', timeoutMs: 30_000 });
      assert.equal(subscribed, 1, 'the LISTEN connection was never re-opened');
      const alive = await db.sql`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid}`;
      assert.equal(alive.length, 1, 'the idle pool connection is still open');
    },
  );

  test(
    'a slow but healthy query is cancelled by the server (57014) before the deadline: the connection stays, nothing is counted silent',
    T,
    async () => {
      const sql = client();
      const [before] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      await assert.rejects(sql`SELECT pg_sleep(5)`, code('57014'));
      const [after] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      assert.equal(after!.pid, before!.pid);
      assert.deepEqual(silent, []);
    },
  );

  test('a connection closed with a request outstanding leaves no timer behind', T, async () => {
    const sql = client(2);
    const [first] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    const pid = first!.pid;
    const sleeping = sql`SELECT pg_sleep(0.5)`.catch((e: unknown) => e);
    await waitFor(
      async () =>
        (await db.sql`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid} AND query LIKE '%pg_sleep%'`).length,
      { what: 'the sleeping query' },
    );
    await db.sql`SELECT pg_terminate_backend(${pid})`;
    assert.ok(isConnectionLost(await sleeping));
    await sentinel(sql); // a deadline passes after the close
    assert.equal(silent.length, 1, `only the sentinel: ${JSON.stringify(silent)}`);
  });

  test('the server ends a transaction its client gave up on: its row lock is released', T, async () => {
    await db.sql`CREATE TABLE deadline_lock (id int PRIMARY KEY)`;
    await db.sql`INSERT INTO deadline_lock VALUES (1)`;
    const sql = client();
    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`SELECT id FROM deadline_lock WHERE id = 1 FOR UPDATE`;
        proxy.freeze(); // the database's side of the connection stays open: only its own timeout ends it
        await tx`SELECT 1`;
      }),
      (err: unknown) => isConnectionLost(err), // the ROLLBACK postgres.js then tries fails on the closed connection
    );
    assert.equal(silent.length, 1);
    const locked = await db.sql.begin(async (tx) => {
      await tx`SET LOCAL lock_timeout = '30s'`;
      return tx`SELECT id FROM deadline_lock WHERE id = 1 FOR UPDATE`;
    });
    assert.equal(locked.length, 1);
  });

  test(
    'a connection falling silent while postgres.js fetches its array types fails the waiting query, and nothing else (no unhandled rejection)',
    T,
    async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const frozen = proxy.frozenCount();
        proxy.freezeWhen((chunk) => chunk.includes('typarray'));
        // A deadline the connection's start-up (authentication) never needs on a busy machine: under CI
        // load a 1 s one expired during start-up, before the type query the test freezes.
        const sql = client(1, 4);
        await assert.rejects(sql`SELECT 1`, code('REPLY_TIMEOUT'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(
          unhandled,
          [],
          'postgres.js left the type query rejection unhandled (kills the worker)',
        );
        assert.equal(proxy.frozenCount(), frozen + 1, 'frozen during the type query');
        const [row] = await sql<{ n: number }[]>`SELECT 5::int AS n`;
        assert.equal(row!.n, 5);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    },
  );
});

describe('wire expectations', () => {
  const typed = (type: string, body = Buffer.alloc(0)) => {
    const m = Buffer.alloc(5 + body.length);
    m.write(type, 0, 'latin1');
    m.writeUInt32BE(4 + body.length, 1);
    body.copy(m, 5);
    return m;
  };
  const startup = () => {
    const m = Buffer.alloc(12);
    m.writeUInt32BE(12, 0);
    m.writeUInt32BE(196_608, 4);
    return m;
  };

  test('startup, pipelined queries, a flushed Describe and LISTEN notifications', () => {
    const w = createWireExpectations();
    w.sent(startup());
    assert.ok(w.waiting());
    w.received(Buffer.concat([typed('R', Buffer.alloc(4)), typed('S', Buffer.from('a\0b\0'))]));
    assert.ok(w.waiting(), 'authenticating');
    w.received(typed('Z', Buffer.from('I')));
    assert.ok(!w.waiting(), 'ready');
    // Two pipelined extended-protocol queries, the reply to the first split mid-header.
    const query = Buffer.concat([typed('P'), typed('B'), typed('E'), typed('S')]);
    w.sent(Buffer.concat([query, query]));
    const first = Buffer.concat([
      typed('1'),
      typed('2'),
      typed('D', Buffer.from('xyz')),
      typed('C'),
      typed('Z'),
    ]);
    w.received(first.subarray(0, 7));
    w.received(first.subarray(7));
    assert.ok(w.waiting(), 'the second query is still owed');
    w.received(Buffer.concat([typed('C'), typed('Z')]));
    assert.ok(!w.waiting());
    w.sent(Buffer.concat([typed('P'), typed('D'), typed('H')]));
    assert.ok(w.waiting(), 'a flushed Describe is owed its description');
    w.received(Buffer.concat([typed('1'), typed('t'), typed('T')]));
    assert.ok(!w.waiting());
    w.received(typed('A', Buffer.from('notify')));
    assert.ok(!w.waiting(), 'a NOTIFY owes nothing');
  });

  test('a reply arriving one byte at a time is followed like one arriving whole', () => {
    const w = createWireExpectations();
    const bytes = (b: Buffer) => {
      for (let i = 0; i < b.length; i++) w.received(b.subarray(i, i + 1));
    };
    for (let i = 0; i < startup().length; i++) w.sent(startup().subarray(i, i + 1));
    assert.ok(w.waiting());
    bytes(Buffer.concat([typed('R', Buffer.alloc(4)), typed('Z', Buffer.from('I'))]));
    assert.ok(!w.waiting(), 'ready');
    w.sent(Buffer.concat([typed('P'), typed('B'), typed('E'), typed('S')]));
    const reply = Buffer.concat([typed('1'), typed('2'), typed('D', Buffer.from('row')), typed('C')]);
    bytes(reply);
    assert.ok(w.waiting(), 'no ReadyForQuery yet');
    bytes(typed('Z', Buffer.from('I')));
    assert.ok(!w.waiting());
  });

  test('TLS and cancel requests are not followed; COPY FROM STDIN pauses the clock', () => {
    const tls = createWireExpectations();
    const ssl = Buffer.alloc(8);
    ssl.writeUInt32BE(8, 0);
    ssl.writeUInt32BE(80_877_103, 4);
    tls.sent(ssl);
    assert.ok(!tls.waiting());
    const copy = createWireExpectations();
    copy.sent(startup());
    copy.received(typed('Z'));
    copy.sent(typed('Q', Buffer.from('COPY t FROM STDIN\0')));
    copy.received(typed('G', Buffer.alloc(3)));
    assert.ok(!copy.waiting(), 'the server waits for the client');
    copy.sent(Buffer.concat([typed('d', Buffer.from('1\n')), typed('c')]));
    assert.ok(copy.waiting());
  });
});
