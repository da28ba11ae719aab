import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { createWatchedListener } from '../db/watched-listener.ts';
import type { Principal } from './principal.ts';

/** The channel the session triggers of migration 0011 announce a changed user on ('*': everyone). */
export const SESSION_CHANNEL = 'cti_sessions';

export type SessionCache = {
  /** The cached principal of a live session, or undefined (not cached, expired, or not listening). */
  get(sessionHash: Buffer): Principal | undefined;
  /** Changes each time anything is forgotten; pass the value read before a lookup to `put`. */
  generation(): number;
  /**
   * Keeps `principal` for at most the cache's lifetime and at most `liveSeconds` (what is left of the
   * session by the database clock). Ignored when something was forgotten since `generation` was read:
   * a lookup that raced a sign-out must not bring the session back.
   */
  put(sessionHash: Buffer, principal: Principal, liveSeconds: number, generation: number): void;
  /** Forgets every cached session of `userId`. */
  forgetUser(userId: string): void;
  /** Forgets everything. */
  clear(): void;
  /** Stops listening; nothing is cached any more. */
  close(): Promise<void>;
};

/**
 * The principals of recently used sessions, in this process, for `ttlSeconds` at most: a request then
 * skips the session lookup (a round trip and a query per request). Sessions still end at once for
 * every server replica: the triggers of migration 0011 announce each changed user on `cti_sessions`
 * when the change commits, and this LISTEN connection forgets them. Nothing is served from the cache
 * unless the LISTEN connection (a connection of its own) is up: when it closes the cache is emptied and
 * stops serving at once; when it is re-established everything is forgotten (announcements sent while it
 * was down are lost); a watchdog pings the channel every `watchdogMs`, and drops a connection whose ping
 * did not come back (silently dead) — db/watched-listener.ts. So a missed announcement lasts at most `ttlSeconds`.
 * Unknown tokens are never cached (they cost a lookup, as before).
 *
 * @example const cache = createSessionCache({ sql, log, ttlSeconds: 5 });
 */
export function createSessionCache({
  sql,
  log,
  ttlSeconds,
  maxEntries = 10_000,
  watchdogMs = 30_000,
  now = () => performance.now(),
}: {
  sql: Sql;
  log: Logger;
  ttlSeconds: number;
  maxEntries?: number;
  watchdogMs?: number;
  /** Monotonic milliseconds. */
  now?: () => number;
}): SessionCache {
  const entries = new Map<string, { principal: Principal; until: number }>();
  let generation = 0;

  const clear = () => {
    generation++;
    entries.clear();
  };
  const forgetUser = (userId: string) => {
    generation++;
    for (const [key, entry] of entries) if (entry.principal.userId === userId) entries.delete(key);
  };
  // Down: announcements are being missed, so nothing is served until it is back. Up again: everything
  // announced meanwhile was lost, so everything is forgotten.
  const listener = createWatchedListener({
    sql,
    channel: SESSION_CHANNEL,
    log,
    watchdogMs,
    onPayload: (payload) => {
      if (payload.startsWith('{')) return; // not a user id
      if (payload === '*') clear();
      else forgetUser(payload);
    },
    onUp: clear,
    onDown: clear,
  });
  const listening = listener.listening;

  return {
    get(sessionHash) {
      if (!listening()) return undefined;
      const key = sessionHash.toString('hex');
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.until > now()) return entry.principal;
      entries.delete(key);
      return undefined;
    },
    generation: () => generation,
    put(sessionHash, principal, liveSeconds, seen) {
      if (!listening() || seen !== generation || liveSeconds <= 0) return;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      const until = now() + Math.min(ttlSeconds, liveSeconds) * 1000;
      entries.set(sessionHash.toString('hex'), { principal, until });
    },
    forgetUser,
    clear,
    async close() {
      await listener.close();
      clear();
    },
  };
}
