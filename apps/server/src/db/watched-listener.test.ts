import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import pino from 'pino';
import postgres, { type Sql } from 'postgres';
import { startTcpProxy, type TcpProxy } from '../test-tcp-proxy.ts';
import { createDatabaseClient } from './database-client.ts';
import { createWatchedListener, isWatchdogPing, type WatchedListener } from './watched-listener.ts';

// The watched LISTEN against the real Postgres through a proxy that can cut (connections reset, new
// ones refused) or freeze (connections left open, nothing forwarded) the path, including only the
// LISTEN connection while the pool goes on working.

const CHANNEL = 'cti_watched_test';
let db: TestDatabase;
let proxy: TcpProxy;
let sql: Sql;
const open: WatchedListener[] = [];

before(async () => {
  db = await createTestDatabase();
  const url = new URL(db.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.host = `127.0.0.1:${proxy.port}`;
  sql = createDatabaseClient({ url: url.href, max: 2, connectTimeoutSeconds: 1, replyTimeoutSeconds: 1 });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
  proxy.thaw();
});
after(async () => {
  await sql.end({ timeout: 1 });
  await proxy.close();
  await db.drop();
});

/** A watched listener on CHANNEL that records what reached it: payloads, ups, downs, log lines. */
function watch(options: { watchdogMs?: number; retryBaseMs?: number } = {}) {
  const seen = { payloads: [] as string[], ups: 0, downs: [] as string[], logs: [] as { msg: string }[] };
  const log = pino({ level: 'debug' }, { write: (line: string) => void seen.logs.push(JSON.parse(line)) });
  const listener = createWatchedListener({
    sql,
    channel: CHANNEL,
    log,
    watchdogMs: 200,
    ...options,
    onPayload: (p) => seen.payloads.push(p),
    onUp: () => seen.ups++,
    onDown: (why) => seen.downs.push(why),
  });
  open.push(listener);
  return { listener, seen };
}

const notify = (payload: string) => db.sql`SELECT pg_notify(${CHANNEL}, ${payload})`;
/** Whether a fresh notification reaches `seen` within a second. */
async function hears(seen: { payloads: string[] }, payload = `n-${Math.random()}`) {
  await notify(payload);
  return waitFor(() => seen.payloads.includes(payload), { timeoutMs: 1_000, intervalMs: 10 }).then(
    () => true,
    () => false,
  );
}
const isListen = (chunk: Buffer) => /LISTEN "cti_watched_test"/i.test(chunk.toString('latin1'));

describe('watched listener', () => {
  test('passes notifications on, never watchdog pings (its own or another process’s)', async () => {
    const { listener, seen } = watch();
    await listener.ready();
    assert.equal(seen.ups, 1);
    await notify('{"ping":"someone-else"}');
    await notify('');
    await notify('a');
    await waitFor(() => seen.payloads.length === 2, { what: 'two notifications' });
    // Several watchdog periods: its own pings come back and are not passed on.
    await sleep(700);
    assert.deepEqual(seen.payloads, ['', 'a']);
    assert.ok(isWatchdogPing('{"ping":"x"}') && !isWatchdogPing('{"id":"x"}'));
    assert.deepEqual([seen.downs, listener.listening()], [[], true], 'no false alarm from the watchdog');
  });

  test('only its LISTEN connection falls silent (no RST, the pool fine): dropped by the watchdog and made anew', async () => {
    const { listener, seen } = watch();
    await listener.ready();
    assert.equal(proxy.freezeOpen(isListen), 1, 'the LISTEN connection frozen');
    assert.equal(await hears(seen), false, 'deaf while frozen');
    await waitFor(() => seen.ups === 2, { what: 'LISTEN re-established', timeoutMs: 5_000 });
    assert.deepEqual(seen.downs, ['its watchdog ping did not come back within 200 ms']);
    assert.ok(await hears(seen), 'hears again');
    const msgs = seen.logs.map((l) => l.msg);
    assert.ok(msgs.includes('LISTEN connection lost; notifications are missed until it is back'));
    assert.ok(msgs.includes('LISTEN connection re-established'));
  });

  test('the database unreachable: down at once, retried with a growing delay (no hot loop), up once it answers', async (t) => {
    const { listener, seen } = watch({ watchdogMs: 400, retryBaseMs: 50 });
    await listener.ready();
    await proxy.cut();
    try {
      await waitFor(() => seen.downs.length === 1, { what: 'down at once', timeoutMs: 1_000 });
      assert.equal(listener.listening(), false);
      await assert.rejects(listener.ready(), 'ready() tries at once and fails while unreachable');
      await sleep(1_500);
    } finally {
      await proxy.restore();
    }
    const attempts = seen.logs.filter((l) => l.msg === 'could not LISTEN; trying again').length;
    // 50, 100, 200, 400, 400 … ms apart: about 7 in 1.5 s; a hot loop makes hundreds.
    t.diagnostic(`${attempts} attempts while unreachable for 1.5 s`);
    assert.ok(attempts >= 3 && attempts <= 12, `${attempts} attempts in 1.5 s`);
    await waitFor(() => seen.ups === 2, { what: 'up again', timeoutMs: 5_000 });
    assert.ok(await hears(seen));
  });

  test('an address that accepts and closes at once (a pooler in front of a down database): retried with the back-off, not in a hot loop (review r10 F4)', async (t) => {
    let accepted = 0;
    const server = createServer((socket: Socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const pool = postgres({ host: '127.0.0.1', port, user: 'cti', database: 'nowhere', connect_timeout: 1 });
    const logs: { msg: string }[] = [];
    const listener = createWatchedListener({
      sql: pool,
      channel: CHANNEL,
      log: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
      watchdogMs: 10_000,
      retryBaseMs: 200,
      onPayload: () => {},
    });
    try {
      await sleep(2_000);
    } finally {
      await listener.close();
      await pool.end({ timeout: 0 });
      await new Promise((resolve) => server.close(resolve));
    }
    const retries = logs.filter((l) => l.msg === 'could not LISTEN; trying again').length;
    // Attempts at about 0, 0.2, 0.6 and 1.4 s (the delay doubling from 200 ms), two connections each
    // (the one that closed, and the one postgres.js asked for next); without the count, thousands.
    t.diagnostic(`${accepted} connections, ${retries} logged retries in 2 s`);
    assert.ok(accepted <= 16, `${accepted} connections in 2 s`);
    assert.ok(retries >= 2, `${retries} retries logged`);
  });

  test('close: no more notifications, hooks or connections', async () => {
    const listeners = async () =>
      (
        await db.sql`
          SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND query = ${`LISTEN "${CHANNEL}"`}`
      )[0]!.n as number;
    const before = await listeners();
    const { listener, seen } = watch();
    await listener.ready();
    assert.equal(await listeners(), before + 1);
    await listener.close();
    assert.equal(await hears(seen), false);
    await assert.rejects(listener.ready(), /closed/);
    await waitFor(async () => (await listeners()) === before, { what: 'its connection gone' });
    assert.deepEqual([seen.ups, seen.downs], [1, []]);
  });
});
