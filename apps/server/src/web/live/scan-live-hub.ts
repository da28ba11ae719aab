import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { readableFarmIds } from '../../access/farm-access.ts';
import type { ScanFilters } from '../../access/scan-filters.ts';
import { findScanListRow, type ScanListRow } from '../../access/scan-list-query.ts';
import { isAdmin, type Principal } from '../../auth/principal.ts';
import type { SessionStore } from '../../auth/session-store.ts';
import type { ScanChange, ScanChangeFeed } from './scan-change-feed.ts';

/** One open live list: who looks, with which filters, and where its rows go. */
export type LiveWatch = {
  principal: Principal;
  filters: ScanFilters;
  /** A changed scan this viewer may see and whose list (filters) shows it, as a list row. */
  deliver(row: ScanListRow): Promise<void> | void;
  /** The viewer's session is over (signed out, expired, disabled) or they lost access: close the stream. */
  end(): void;
};

/**
 * Open live streams one user may hold at once, over all their sessions and tabs (review r1 F9): each
 * stream with its own filters costs one query per scan change and delays every viewer's events, so one
 * account must not open hundreds. Hidden tabs hold none (live-scans.js), so 8 is several visible
 * windows and devices; the 9th is refused (429) rather than closing an older one, whose page would
 * reconnect and push the next one out in turn.
 */
export const MAX_LIVE_STREAMS_PER_USER = 8;

export type ScanLiveHub = {
  /**
   * Takes one of the user's stream slots before a stream opens: a release function (idempotent), or
   * undefined when the user already holds `maxStreamsPerUser`.
   */
  claim(userId: string): (() => void) | undefined;
  /** Starts delivering to `watch`; resolves once the feed listens. Returns unsubscribe. */
  watch(watch: LiveWatch): Promise<() => void>;
  /** Open watches (for tests and metrics). */
  size(): number;
};

/** What the viewer could read when their stream opened: admin, else these farms. */
type OpenedWith = { admin: boolean; farms: ReadonlySet<string> };

/** Whether `now` (and the farms non-admins read now) still covers what the stream opened with. */
function keepsAccess(opened: OpenedWith, now: Principal, farmsNow: Map<string, Set<string>>): boolean {
  if (isAdmin(now)) return true;
  if (opened.admin) return false;
  const readable = farmsNow.get(now.userId);
  return [...opened.farms].every((farm) => readable?.has(farm));
}

/**
 * Fans the process's one scan-change feed out to the open live lists, re-checking access for every
 * event: the viewer's session is read again (a signed-out or disabled user gets nothing more and their
 * stream ends) and the scan is read through `findScanListRow` with the viewer's own principal and
 * filters — the query the list itself uses — so an event reaches only people allowed to see that scan.
 * Viewers sharing a session and filters share one query. Changes are handled one at a time, and
 * several changes of one scan waiting in the queue are handled once.
 *
 * Between events, one process-wide timer re-checks every open stream each `recheckMs` (the heartbeat
 * interval by default): one query for all their sessions (`sessions.checkMany`) and one for the farms
 * those users read now (`readableFarmIds`). A stream ends when its session is over or its user lost
 * admin or a farm they could read when it opened, so the page reconnects and shows what they may see now.
 *
 * @example const hub = createScanLiveHub({ sql, feed, sessions, log }); await hub.watch({ principal, filters, deliver, end });
 */
export function createScanLiveHub({
  sql,
  feed,
  sessions,
  log,
  recheckMs = 15_000,
  maxStreamsPerUser = MAX_LIVE_STREAMS_PER_USER,
}: {
  sql: Sql;
  feed: ScanChangeFeed;
  sessions: Pick<SessionStore, 'check' | 'checkMany'>;
  log: Logger;
  recheckMs?: number;
  maxStreamsPerUser?: number;
}): ScanLiveHub {
  const streamsOf = new Map<string, number>();
  const watches = new Map<LiveWatch, OpenedWith>();
  const queue = new Map<string, ScanChange>();
  let draining = false;
  let unsubscribe: Promise<() => void> | undefined;

  async function dispatch(change: ScanChange) {
    const bySession = new Map<string, LiveWatch[]>();
    for (const w of watches.keys()) {
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

  let timer: NodeJS.Timeout | undefined;
  let rechecking = false;

  async function recheck() {
    if (rechecking) return;
    rechecking = true;
    try {
      const open = [...watches];
      const hashes = new Map(
        open.map(([w]) => [w.principal.sessionHash.toString('hex'), w.principal.sessionHash]),
      );
      const live = await sessions.checkMany([...hashes.values()]);
      const farmsNow = await readableFarmIds(sql, [...live.values()]);
      for (const [w, opened] of open) {
        const now = live.get(w.principal.sessionHash.toString('hex'));
        if (!watches.has(w) || (now !== undefined && keepsAccess(opened, now, farmsNow))) continue;
        forget(w);
        w.end();
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'live streams not re-checked; trying again at the next tick');
    } finally {
      rechecking = false;
    }
  }

  /** Drops a watch; the timer runs only while streams are open. */
  function forget(w: LiveWatch) {
    watches.delete(w);
    if (watches.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  async function openedWith(principal: Principal): Promise<OpenedWith> {
    if (isAdmin(principal)) return { admin: true, farms: new Set() };
    const farms = await readableFarmIds(sql, [principal]);
    return { admin: false, farms: farms.get(principal.userId) ?? new Set() };
  }

  return {
    claim(userId) {
      const held = streamsOf.get(userId) ?? 0;
      if (held >= maxStreamsPerUser) return undefined;
      streamsOf.set(userId, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (streamsOf.get(userId) ?? 1) - 1;
        if (left > 0) streamsOf.set(userId, left);
        else streamsOf.delete(userId);
      };
    },
    async watch(w) {
      watches.set(w, await openedWith(w.principal));
      timer ??= setInterval(() => void recheck(), recheckMs).unref();
      try {
        unsubscribe ??= feed.subscribe(onChange);
        await unsubscribe;
      } catch (err) {
        unsubscribe = undefined;
        forget(w);
        throw err;
      }
      return () => forget(w);
    },
    size: () => watches.size,
  };
}
