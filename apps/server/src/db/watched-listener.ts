import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import postgres, { type Options, type Sql } from 'postgres';
import { rotatingSocket, type SocketTarget } from './reply-deadline-socket.ts';

/** postgres.js's `socket` option: its connection options in, a (connecting) socket out. */
type SocketFactory = (target: SocketTarget) => Socket | Promise<Socket>;

/** How every watchdog ping begins (`{"ping":"<uuid>"}`): listeners never pass one on, whoever sent it. */
const PING_PREFIX = '{"ping":';

/** Whether `payload` is a watchdog ping (any process's) rather than a notification. */
export const isWatchdogPing = (payload: string): boolean => payload.startsWith(PING_PREFIX);

export type WatchedListenerOptions = {
  /** The pool: the LISTEN connection is made from its options; the watchdog pings through it. */
  sql: Sql;
  channel: string;
  log: Logger;
  /** Every notification on `channel` except watchdog pings. */
  onPayload: (payload: string) => void;
  /** Each time LISTEN is (re-)established: notifications sent before this moment were not heard. */
  onUp?: () => void;
  /** Each time an established connection is lost (closed, or its ping did not come back). */
  onDown?: (why: string) => void;
  /** Ping period; a connection whose ping is not back one period later is dropped and made anew. */
  watchdogMs?: number;
  /** First delay before trying again after a failed attempt (doubling up to `watchdogMs`). */
  retryBaseMs?: number;
};

export type WatchedListener = {
  /** True while LISTEN is established and not found dead since. */
  listening(): boolean;
  /** Resolves once listening; while down, tries at once (no waiting for the next retry) and rejects with that attempt's error. */
  ready(): Promise<void>;
  /** Stops listening for good (no hook is called). */
  close(): Promise<void>;
};

/**
 * A LISTEN on one channel, on a connection of its own made from the pool's options, that does not go
 * deaf unnoticed. postgres.js's `sql.listen` re-listens after a close but gives up silently when the
 * database is still down at that moment, and a connection dropped without a RST (a NAT or firewall
 * forgetting it, a VM migrated, a partition) looks alive for as long as TCP keepalive allows while no
 * notification arrives. So: a close is reported at once (`onDown`) and a new connection is made at once;
 * a failed attempt — refused, or closed before LISTEN answered (postgres.js would reconnect silently, in
 * a hot loop) — is retried after 0.5 s, 1 s, 2 s … up to `watchdogMs`; and every
 * `watchdogMs` a unique ping is NOTIFYed through the pool — a connection whose ping has not come back by
 * the next period (or whose LISTEN has not answered by then) is dropped and made anew. `onUp` follows
 * every established LISTEN: what was announced while deaf is lost, and the consumer catches up.
 *
 * @example const jobs = createWatchedListener({ sql, channel: 'cti_grading_jobs', log, onPayload: wake, onUp: wake });
 */
export function createWatchedListener({
  sql,
  channel,
  log,
  onPayload,
  onUp = () => {},
  onDown = () => {},
  watchdogMs = 30_000,
  retryBaseMs = 500,
}: WatchedListenerOptions): WatchedListener {
  let closed = false;
  /** The connection that is up or coming up (one at a time). */
  let client: Sql | undefined;
  let attempt: Promise<void> | undefined;
  let up = false;
  /** An attempt still unanswered at the previous watchdog tick. */
  let stalled: Sql | undefined;
  let pendingPing: string | undefined;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let lostAt: number | undefined;
  const quoted = `"${channel.replace(/"/g, '""')}"`;
  /** Without the pool's own socket option: postgres.js's plain connections, its hosts in turn across attempts. */
  const ownSocket = rotatingSocket();

  const heard = (payload: string) => {
    if (!isWatchdogPing(payload)) onPayload(payload);
    else if (payload === pendingPing) pendingPing = undefined;
  };

  const drop = (dead: Sql, why: string) => {
    if (dead !== client) return;
    const wasUp = up;
    client = attempt = stalled = pendingPing = undefined;
    up = false;
    void dead.end({ timeout: 0 }).catch(() => {});
    if (closed) return;
    if (wasUp) {
      lostAt = Date.now();
      log.warn({ channel, why }, 'LISTEN connection lost; notifications are missed until it is back');
      onDown(why);
      void connect().catch(() => {});
      return;
    }
    const delayMs = Math.min(watchdogMs, retryBaseMs * 2 ** failures++);
    log.warn({ channel, why, delayMs }, 'could not LISTEN; trying again');
    retry = setTimeout(() => void connect().catch(() => {}), delayMs).unref();
  };

  // Not sql.listen: it reconnects on its own, and when that fails nothing tells the consumer.
  const connect = (): Promise<void> => {
    if (closed) return Promise.reject(new Error(`LISTEN ${channel}: closed`));
    if (attempt) return attempt;
    clearTimeout(retry);
    // postgres.js reconnects by itself for the LISTEN it still has to send, and reports neither the
    // failed attempt (no onclose, the LISTEN neither answered nor rejected) nor the next one: against an
    // address that accepts and closes at once (a pooler or load balancer in front of a down database)
    // that is hundreds of connections a second. So each connection this attempt asks for is counted: a
    // second one before LISTEN answered means the first closed before it could — the attempt failed,
    // and it is dropped and retried with the back-off below (review r10 F4).
    const baseSocket = (sql.options as { socket?: SocketFactory }).socket ?? ownSocket;
    let sockets = 0;
    const socket: SocketFactory = (target) => {
      if (++sockets > 1 && conn === client && !up)
        queueMicrotask(() => drop(conn, 'the connection closed before LISTEN was answered'));
      return baseSocket(target);
    };
    // The pool's own parsed options, as postgres.js's sql.listen passes them (taken as they are).
    const options = {
      ...sql.options,
      socket,
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      onnotify: (from: string, payload: string) => {
        if (conn === client && from === channel) heard(payload);
      },
      onclose: () => drop(conn, 'closed'),
    };
    const conn: Sql = postgres(options as unknown as Options<Record<string, never>>);
    client = conn;
    attempt = conn.unsafe(`LISTEN ${quoted}`).then(
      () => {
        if (conn !== client) throw new Error(`LISTEN ${channel}: connection lost`);
        up = true;
        failures = 0;
        if (lostAt === undefined) log.info({ channel }, 'LISTEN established');
        else log.info({ channel, deafMs: Date.now() - lostAt }, 'LISTEN connection re-established');
        lostAt = undefined;
        onUp();
      },
      (err: unknown) => {
        drop(conn, (err as Error).message);
        throw err;
      },
    );
    return attempt;
  };

  const check = () => {
    if (closed || client === undefined) return;
    if (!up) {
      if (stalled === client) drop(client, `LISTEN not answered within ${watchdogMs} ms`);
      else stalled = client;
      return;
    }
    if (pendingPing !== undefined) {
      drop(client, `its watchdog ping did not come back within ${watchdogMs} ms`);
      return;
    }
    pendingPing = `${PING_PREFIX}${JSON.stringify(randomUUID())}}`;
    // A ping that cannot be sent stays pending: the connection is then dropped and made anew.
    sql`SELECT pg_notify(${channel}, ${pendingPing})`.catch(() => {});
  };

  void connect().catch(() => {});
  const watchdog = setInterval(check, watchdogMs).unref();

  return {
    listening: () => up,
    ready: () => (up ? Promise.resolve() : connect()),
    async close() {
      closed = true;
      up = false;
      clearInterval(watchdog);
      clearTimeout(retry);
      const last = client;
      client = attempt = undefined;
      await last?.end({ timeout: 0 }).catch(() => {});
    },
  };
}
