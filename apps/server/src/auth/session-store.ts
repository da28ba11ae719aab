import type { Sql } from 'postgres';
import type { Db, Fragment } from '../access/farm-access.ts';
import type { AuthConfig } from '../config.ts';
import type { Principal } from './principal.ts';
import type { RoleName } from './roles.ts';
import type { SessionCache } from './session-cache.ts';
import { hashSessionToken, newCsrfToken, newSessionToken } from './session-token.ts';

export type NewSession = { token: string; csrfToken: string; expiresAt: Date };

export type SessionStore = {
  /** A new session for `userId`; the token goes into the cookie and nowhere else. */
  create(userId: string, meta: { address: string; userAgent: string | undefined }): Promise<NewSession>;
  /** The principal of a live session (not expired, not idle too long, user active), or undefined. */
  find(token: string): Promise<Principal | undefined>;
  /**
   * The same check by the session's hash, without refreshing last_seen_at: an open live stream re-checks
   * its session with this on every event, and an unattended open page must not keep a session alive.
   * `db` runs it inside a caller's transaction (a correction re-checks its author there).
   */
  check(sessionHash: Buffer, db?: Db): Promise<Principal | undefined>;
  /**
   * `check` for many sessions in one query (the live list's periodic re-check): the principals of the
   * sessions still live, keyed by the session hash in hex; a hash missing from the map is over.
   */
  checkMany(sessionHashes: readonly Buffer[]): Promise<Map<string, Principal>>;
  /** Ends one session (sign-out); true when it existed. */
  end(sessionHash: Buffer): Promise<boolean>;
  /** Ends every session of a user, except `keep` (password change keeps the current one). */
  endAllFor(userId: string, keep?: Buffer): Promise<number>;
  /** Deletes expired sessions; returns how many. */
  sweep(): Promise<number>;
  /**
   * Forgets every principal `find` keeps in this process (no-op without a cache): the session layer
   * calls it after each write request, so whatever that request changed (a role, a disabled account, a
   * name) holds for the next request at once — other processes learn it from migration 0011's triggers.
   */
  forgetCached(): void;
};

/** The principal alone, without the lookup's bookkeeping. */
const withoutStale = ({
  stale: _,
  liveSeconds: __,
  ...principal
}: Principal & { stale: boolean; liveSeconds: number }): Principal => principal;

/** last_seen_at is written at most this often per session, so reading pages does not write per request. */
const TOUCH_INTERVAL_SECONDS = 60;

type Row = {
  token_hash: Buffer;
  user_id: string;
  csrf_token: string;
  email: string;
  full_name: string | null;
  roles: RoleName[];
  stale: boolean;
  live_seconds: number;
};

/**
 * Server-side sessions in Postgres (table `sessions`, migration 0007), so every server container
 * agrees and sign-out is immediate. Idle expiry is measured from last_seen_at (refreshed at most once
 * a minute), absolute expiry from sign-in; both are checked with the database clock.
 *
 * @example const sessions = createSessionStore({ sql, config: config.auth });
 */
export function createSessionStore({
  sql,
  config,
  cache,
}: {
  sql: Sql;
  config: AuthConfig;
  /** Keeps the principals `find` returns for a few seconds (see createSessionCache); none: every call looks up. */
  cache?: SessionCache;
}): SessionStore {
  const idle = config.sessionIdleSeconds;
  /** The live sessions among those `match` selects (a condition on `s.token_hash`). */
  const liveRows = (db: Db, match: Fragment) => db<Row[]>`
      SELECT s.token_hash, s.user_id, s.csrf_token, u.email, u.full_name,
             ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                   WHERE ur.user_id = u.id ORDER BY r.id) AS roles,
             s.last_seen_at < now() - make_interval(secs => ${TOUCH_INTERVAL_SECONDS}) AS stale,
             extract(epoch FROM least(s.expires_at, s.last_seen_at + make_interval(secs => ${idle})) - now())::float8
               AS live_seconds
        FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE ${match} AND s.expires_at > now()
         AND s.last_seen_at > now() - make_interval(secs => ${idle}) AND u.status = 'active'`;
  const toPrincipal = (row: Row): Principal & { stale: boolean; liveSeconds: number } => ({
    userId: row.user_id,
    email: row.email,
    fullName: row.full_name,
    roles: row.roles,
    csrfToken: row.csrf_token,
    sessionHash: row.token_hash,
    stale: row.stale,
    liveSeconds: row.live_seconds,
  });
  const live = async (
    hash: Buffer,
    db: Db = sql,
  ): Promise<(Principal & { stale: boolean; liveSeconds: number }) | undefined> => {
    const [row] = await liveRows(db, db`s.token_hash = ${hash}`);
    return row && { ...toPrincipal(row), sessionHash: hash };
  };
  return {
    async create(userId, { address, userAgent }) {
      const token = newSessionToken();
      const csrfToken = newCsrfToken();
      const [row] = await sql<{ expires_at: Date }[]>`
        INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, address, user_agent)
        VALUES (${hashSessionToken(token)}, ${userId}, ${csrfToken},
                now() + make_interval(secs => ${config.sessionMaxAgeSeconds}), ${address},
                ${userAgent?.slice(0, 512) ?? null})
        RETURNING expires_at`;
      return { token, csrfToken, expiresAt: row!.expires_at };
    },

    async find(token) {
      const hash = hashSessionToken(token);
      const cached = cache?.get(hash);
      if (cached) return cached;
      const generation = cache?.generation() ?? 0;
      const principal = await live(hash);
      if (principal === undefined) return undefined;
      // last_seen_at is refreshed from the lookups the cache lets through (at least one per cache
      // lifetime while the session is used): the idle limit stays exact to the minute plus that lifetime.
      if (principal.stale)
        await sql`UPDATE sessions SET last_seen_at = now() WHERE token_hash = ${principal.sessionHash}`;
      const found = withoutStale(principal);
      cache?.put(hash, found, principal.liveSeconds, generation);
      return found;
    },

    async check(sessionHash, db) {
      const principal = await live(sessionHash, db);
      return principal && withoutStale(principal);
    },

    async checkMany(sessionHashes) {
      if (sessionHashes.length === 0) return new Map();
      // postgres.js cannot send a bytea[] parameter: the hashes travel as hex text.
      const hexes = sessionHashes.map((h) => h.toString('hex'));
      const rows = await liveRows(
        sql,
        sql`s.token_hash IN (SELECT decode(h, 'hex') FROM unnest(${hexes}::text[]) h)`,
      );
      return new Map(rows.map((row) => [row.token_hash.toString('hex'), withoutStale(toPrincipal(row))]));
    },

    async end(sessionHash) {
      const rows = await sql`DELETE FROM sessions WHERE token_hash = ${sessionHash}`;
      cache?.clear();
      return rows.count > 0;
    },

    async endAllFor(userId, keep) {
      const rows = keep
        ? await sql`DELETE FROM sessions WHERE user_id = ${userId} AND token_hash <> ${keep}`
        : await sql`DELETE FROM sessions WHERE user_id = ${userId}`;
      cache?.forgetUser(userId);
      return rows.count;
    },

    async sweep() {
      const rows = await sql`
        DELETE FROM sessions
         WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => ${idle})`;
      return rows.count;
    },

    forgetCached() {
      cache?.clear();
    },
  };
}
