import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import postgres, { type Options, type Sql } from 'postgres';
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
 * did not come back (silently dead). So a missed announcement lasts at most `ttlSeconds`.
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
  /** The client of the LISTEN connection, while it is up or coming up (one connection, its own). */
  let listener: Sql | undefined;

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
  /** The LISTEN connection is lost: announcements are being missed, so nothing is served until it is back. */
  const down = (client: Sql, why: string) => {
    if (client !== listener) return;
    const wasListening = listening;
    listener = undefined;
    listening = false;
    pendingPing = undefined;
    clear();
    void client.end({ timeout: 0 }).catch(() => {});
    if (!closed) log.warn({ why }, 'session cache: LISTEN connection lost; sessions are looked up');
    // One attempt at once after a working connection dropped; else the watchdog tries again (no hot loop).
    if (wasListening) listen();
  };
  // Not sql.listen: it reconnects silently, and when that fails nothing tells the cache, which then
  // went on serving with no announcements arriving. A client of its own reports its close at once.
  const listen = () => {
    if (closed || listener !== undefined) return;
    // The pool's own parsed options, as postgres.js's sql.listen passes them (taken as they are).
    const options = {
      ...sql.options,
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      onnotify: (channel: string, payload: string) => {
        if (client === listener && channel === SESSION_CHANNEL) onPayload(payload);
      },
      onclose: () => down(client, 'closed'),
    };
    const client: Sql = postgres(options as unknown as Options<Record<string, never>>);
    listener = client;
    client.unsafe(`LISTEN ${SESSION_CHANNEL}`).then(
      () => {
        if (client !== listener) return;
        // Announcements sent before this moment were not heard.
        clear();
        listening = !closed;
      },
      (err: unknown) => down(client, (err as Error).message),
    );
  };
  const check = async () => {
    if (closed) return;
    if (listener === undefined) return listen();
    if (!listening) return;
    if (pendingPing !== undefined) {
      down(listener, 'its watchdog ping did not come back');
      return listen();
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
      const client = listener;
      listener = undefined;
      await client?.end({ timeout: 0 }).catch(() => {});
    },
  };
}
