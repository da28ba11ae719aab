import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';

/** The channel the `scans_notify_change` trigger (migration 0008) announces on. */
export const SCAN_CHANNEL = 'cti_scans';

/** A scan that was created or whose status was set: `{ id, status }` as the trigger sends it. */
export type ScanChange = { id: string; status: string };

export type ScanChangeFeed = {
  /** Calls `listener` for every change from now on; resolves once LISTEN is active. Returns unsubscribe. */
  subscribe(listener: (change: ScanChange) => void): Promise<() => void>;
  /** Stops listening (shutdown); later subscriptions are refused. */
  close(): Promise<void>;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function parseChange(payload: string): ScanChange | { ping: string } | undefined {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>;
    if (typeof value.ping === 'string') return { ping: value.ping };
    if (typeof value.id === 'string' && UUID.test(value.id) && typeof value.status === 'string') {
      return { id: value.id, status: value.status };
    }
  } catch {
    // not ours: ignored
  }
  return undefined;
}

/**
 * One LISTEN connection per server process (postgres.js keeps it apart from the pool), started by the
 * first subscriber and shared by all of them. postgres.js re-issues LISTEN after a dropped connection
 * but gives up silently if the database is still down at that moment, so a watchdog pings the channel
 * every `watchdogMs` while anyone listens and re-subscribes when its own ping does not come back.
 * Changes made while the connection was down are not replayed: open lists catch up at their next load.
 *
 * @example const feed = createScanChangeFeed({ sql, log }); const stop = await feed.subscribe(console.log);
 */
export function createScanChangeFeed({
  sql,
  log,
  channel = SCAN_CHANNEL,
  watchdogMs = 30_000,
}: {
  sql: Sql;
  log: Logger;
  channel?: string;
  watchdogMs?: number;
}): ScanChangeFeed {
  const listeners = new Set<(change: ScanChange) => void>();
  let listening: Promise<{ unlisten(): Promise<void> }> | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let pendingPing: string | undefined;
  let closed = false;

  const onPayload = (payload: string) => {
    const message = parseChange(payload);
    if (message === undefined) return;
    if ('ping' in message) {
      if (message.ping === pendingPing) pendingPing = undefined;
      return;
    }
    for (const listener of listeners) listener(message);
  };

  const start = () => {
    const attempt = sql.listen(channel, onPayload, () => log.debug({ channel }, 'listening'));
    listening = attempt;
    attempt.catch((err: unknown) => {
      if (listening === attempt) listening = undefined;
      log.warn({ err: (err as Error).message, channel }, 'LISTEN failed; retrying at the next check');
    });
    return attempt;
  };

  const check = async () => {
    if (closed || listeners.size === 0) return;
    if (pendingPing !== undefined || listening === undefined) {
      log.warn({ channel }, 'live scan feed lost its LISTEN connection; listening again');
      pendingPing = undefined;
      const old = listening;
      listening = undefined;
      await old?.then((l) => l.unlisten()).catch(() => {});
      await start().catch(() => {});
      return;
    }
    pendingPing = randomUUID();
    await sql`SELECT pg_notify(${channel}, ${JSON.stringify({ ping: pendingPing })})`.catch(() => {});
  };

  return {
    async subscribe(listener) {
      if (closed) throw new Error('the live scan feed is closed');
      listeners.add(listener);
      try {
        await (listening ?? start());
      } catch (err) {
        listeners.delete(listener);
        throw err;
      }
      watchdog ??= setInterval(() => void check(), watchdogMs).unref();
      return () => {
        listeners.delete(listener);
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      clearInterval(watchdog);
      const current = listening;
      listening = undefined;
      await current?.then((l) => l.unlisten()).catch(() => {});
    },
  };
}
