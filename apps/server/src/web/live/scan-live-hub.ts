import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { ScanFilters } from '../../access/scan-filters.ts';
import { findScanListRow, type ScanListRow } from '../../access/scan-list-query.ts';
import type { Principal } from '../../auth/principal.ts';
import type { SessionStore } from '../../auth/session-store.ts';
import type { ScanChange, ScanChangeFeed } from './scan-change-feed.ts';

/** One open live list: who looks, with which filters, and where its rows go. */
export type LiveWatch = {
  principal: Principal;
  filters: ScanFilters;
  /** A changed scan this viewer may see and whose list (filters) shows it, as a list row. */
  deliver(row: ScanListRow): Promise<void> | void;
  /** The viewer's session is over (signed out, expired, disabled): close the stream. */
  end(): void;
};

export type ScanLiveHub = {
  /** Starts delivering to `watch`; resolves once the feed listens. Returns unsubscribe. */
  watch(watch: LiveWatch): Promise<() => void>;
  /** Open watches (for tests and metrics). */
  size(): number;
};

/**
 * Fans the process's one scan-change feed out to the open live lists, re-checking access for every
 * event: the viewer's session is read again (a signed-out or disabled user gets nothing more and their
 * stream ends) and the scan is read through `findScanListRow` with the viewer's own principal and
 * filters — the query the list itself uses — so an event reaches only people allowed to see that scan.
 * Viewers sharing a session and filters share one query. Changes are handled one at a time, and
 * several changes of one scan waiting in the queue are handled once.
 *
 * @example const hub = createScanLiveHub({ sql, feed, sessions, log }); await hub.watch({ principal, filters, deliver, end });
 */
export function createScanLiveHub({
  sql,
  feed,
  sessions,
  log,
}: {
  sql: Sql;
  feed: ScanChangeFeed;
  sessions: Pick<SessionStore, 'check'>;
  log: Logger;
}): ScanLiveHub {
  const watches = new Set<LiveWatch>();
  const queue = new Map<string, ScanChange>();
  let draining = false;
  let unsubscribe: Promise<() => void> | undefined;

  async function dispatch(change: ScanChange) {
    const bySession = new Map<string, LiveWatch[]>();
    for (const w of watches) {
      const key = w.principal.sessionHash.toString('hex');
      bySession.set(key, [...(bySession.get(key) ?? []), w]);
    }
    await Promise.all(
      [...bySession.values()].map(async (group) => {
        const principal = await sessions.check(group[0]!.principal.sessionHash);
        if (principal === undefined) {
          for (const w of group) w.end();
          return;
        }
        const byFilters = new Map<string, LiveWatch[]>();
        for (const w of group) {
          const key = JSON.stringify(Object.entries(w.filters).sort());
          byFilters.set(key, [...(byFilters.get(key) ?? []), w]);
        }
        for (const same of byFilters.values()) {
          const row = await findScanListRow(sql, principal, same[0]!.filters, change.id);
          if (row !== undefined) await Promise.all(same.map((w) => w.deliver(row)));
        }
      }),
    );
  }

  async function drain() {
    draining = true;
    try {
      for (let next = queue.values().next(); !next.done; next = queue.values().next()) {
        queue.delete(next.value.id);
        await dispatch(next.value).catch((err: unknown) =>
          log.warn({ err: (err as Error).message, scan: next.value.id }, 'live scan event not delivered'),
        );
      }
    } finally {
      draining = false;
    }
  }

  const onChange = (change: ScanChange) => {
    if (watches.size === 0) return;
    queue.set(change.id, change);
    if (!draining) void drain();
  };

  return {
    async watch(w) {
      watches.add(w);
      try {
        unsubscribe ??= feed.subscribe(onChange);
        await unsubscribe;
      } catch (err) {
        unsubscribe = undefined;
        watches.delete(w);
        throw err;
      }
      return () => {
        watches.delete(w);
      };
    },
    size: () => watches.size,
  };
}
