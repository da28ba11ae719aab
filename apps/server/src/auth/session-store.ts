import type { Sql } from 'postgres';
import type { Db, Fragment } from '../access/farm-access.ts';
import type { AuthConfig } from '../config.ts';
import type { Principal } from './principal.ts';
import type { RoleName } from './roles.ts';
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
};

const withoutStale = ({ stale: _, ...principal }: Principal & { stale: boolean }): Principal => principal;

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
};

/**
 * Server-side sessions in Postgres (table `sessions`, migration 0007), so every server container
 * agrees and sign-out is immediate. Idle expiry is measured from last_seen_at (refreshed at most once
 * a minute), absolute expiry from sign-in; both are checked with the database clock.
 *
 * @example const sessions = createSessionStore({ sql, config: config.auth });
 */
export function createSessionStore({ sql, config }: { sql: Sql; config: AuthConfig }): SessionStore {
  const idle = config.sessionIdleSeconds;
  /** The live sessions among those `match` selects (a condition on `s.token_hash`). */
  const liveRows = (db: Db, match: Fragment) => db<Row[]>`
      SELECT s.token_hash, s.user_id, s.csrf_token, u.email, u.full_name,
             ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                   WHERE ur.user_id = u.id ORDER BY r.id) AS roles,
             s.last_seen_at < now() - make_interval(secs => ${TOUCH_INTERVAL_SECONDS}) AS stale
        FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE ${match} AND s.expires_at > now()
         AND s.last_seen_at > now() - make_interval(secs => ${idle}) AND u.status = 'active'`;
  const toPrincipal = (row: Row): Principal & { stale: boolean } => ({
    userId: row.user_id,
    email: row.email,
    fullName: row.full_name,
    roles: row.roles,
    csrfToken: row.csrf_token,
    sessionHash: row.token_hash,
    stale: row.stale,
  });
  const live = async (hash: Buffer, db: Db = sql): Promise<(Principal & { stale: boolean }) | undefined> => {
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
      const principal = await live(hashSessionToken(token));
      if (principal?.stale)
        await sql`UPDATE sessions SET last_seen_at = now() WHERE token_hash = ${principal.sessionHash}`;
      return principal && withoutStale(principal);
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
      return rows.count > 0;
    },

    async endAllFor(userId, keep) {
      const rows = keep
        ? await sql`DELETE FROM sessions WHERE user_id = ${userId} AND token_hash <> ${keep}`
        : await sql`DELETE FROM sessions WHERE user_id = ${userId}`;
      return rows.count;
    },

    async sweep() {
      const rows = await sql`
        DELETE FROM sessions
         WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => ${idle})`;
      return rows.count;
    },
  };
}
