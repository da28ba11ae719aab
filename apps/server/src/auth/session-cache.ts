import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
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
 * unless the LISTEN connection is up; when it is re-established everything is forgotten (announcements
 * sent while it was down are lost), and a watchdog pings the channel every `watchdogMs` and stops
 * serving when its own ping does not come back. So a missed announcement lasts at most `ttlSeconds`.
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
  let listening = false;
  let closed = false;
  let pendingPing: string | undefined;
  let subscription: Promise<{ unlisten(): Promise<void> }> | undefined;

  const clear = () => {
    generation++;
    entries.clear();
  };
  const forgetUser = (userId: string) => {
    generation++;
    for (const [key, entry] of entries) if (entry.principal.userId === userId) entries.delete(key);
  };
  const onPayload = (payload: string) => {
    if (payload.startsWith('{')) {
      if (payload === pendingPing) pendingPing = undefined;
    } else if (payload === '*') clear();
    else forgetUser(payload);
  };
  const listen = () => {
    const attempt = sql.listen(SESSION_CHANNEL, onPayload, () => {
      // (Re)connected: announcements sent while the connection was down are lost.
      clear();
      listening = !closed;
    });
    subscription = attempt;
    attempt.catch((err: unknown) => {
      listening = false;
      if (subscription === attempt) subscription = undefined;
      log.warn({ err: (err as Error).message }, 'session cache: LISTEN failed; sessions are looked up');
    });
  };
  const check = async () => {
    if (closed) return;
    if (pendingPing !== undefined || subscription === undefined) {
      log.warn('session cache lost its LISTEN connection; listening again');
      listening = false;
      clear();
      pendingPing = undefined;
      const old = subscription;
      subscription = undefined;
      await old?.then((l) => l.unlisten()).catch(() => {});
      listen();
      return;
    }
    pendingPing = JSON.stringify({ ping: randomUUID() });
    await sql`SELECT pg_notify(${SESSION_CHANNEL}, ${pendingPing})`.catch(() => {});
  };
  listen();
  const watchdog = setInterval(() => void check(), watchdogMs).unref();

  return {
    get(sessionHash) {
      if (!listening) return undefined;
      const key = sessionHash.toString('hex');
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.until > now()) return entry.principal;
      entries.delete(key);
      return undefined;
    },
    generation: () => generation,
    put(sessionHash, principal, liveSeconds, seen) {
      if (!listening || seen !== generation || liveSeconds <= 0) return;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      const until = now() + Math.min(ttlSeconds, liveSeconds) * 1000;
      entries.set(sessionHash.toString('hex'), { principal, until });
    },
    forgetUser,
    clear,
    async close() {
      closed = true;
      listening = false;
      clearInterval(watchdog);
      clear();
      const current = subscription;
      subscription = undefined;
      await current?.then((l) => l.unlisten()).catch(() => {});
    },
  };
}
