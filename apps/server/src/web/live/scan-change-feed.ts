import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { createWatchedListener, type WatchedListener } from '../../db/watched-listener.ts';

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

function parseChange(payload: string): ScanChange | undefined {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>;
    if (typeof value.id === 'string' && UUID.test(value.id) && typeof value.status === 'string') {
      return { id: value.id, status: value.status };
    }
  } catch {
    // not ours: ignored
  }
  return undefined;
}

/**
 * One LISTEN connection per server process (db/watched-listener.ts: a connection of its own, apart
 * from the pool), started by the first subscriber and shared by all of them. A watchdog pings the
 * channel every `watchdogMs` and makes the connection anew when its ping does not come back (a silently
 * dead connection, or postgres.js having given up reconnecting). Changes made while the connection was
 * down are not replayed: open lists catch up at their next load.
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
  let listener: WatchedListener | undefined;
  let closed = false;

  const onPayload = (payload: string) => {
    const change = parseChange(payload);
    if (change !== undefined) for (const l of listeners) l(change);
  };

  return {
    async subscribe(l) {
      if (closed) throw new Error('the live scan feed is closed');
      listeners.add(l);
      listener ??= createWatchedListener({ sql, channel, log, watchdogMs, onPayload });
      try {
        await listener.ready();
      } catch (err) {
        listeners.delete(l);
        throw err;
      }
      return () => {
        listeners.delete(l);
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      await listener?.close();
    },
  };
}
