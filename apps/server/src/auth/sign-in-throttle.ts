import type { Sql } from 'postgres';
import type { AuthConfig } from '../config.ts';
import { throttleAddress } from './address-bucket.ts';

export type ThrottleKeys = { account: string; address: string };

export type SignInThrottle = {
  /** Seconds until every lock on these keys has ended; 0 when none is locked. */
  lockedFor(keys: ThrottleKeys): Promise<number>;
  /** Counts one failed sign-in against both keys, locking a key that reached its limit. */
  recordFailure(keys: ThrottleKeys): Promise<void>;
  /** A successful sign-in clears the account's count (not the address's: see below). */
  clearAccount(keys: ThrottleKeys): Promise<void>;
  /** Deletes rows whose window and lock are long over. */
  sweep(): Promise<number>;
};

export const accountKey = (email: string) => `account:${email.trim().toLowerCase()}`;
/** IPv6 addresses count by their /64 (address-bucket.ts): `address:2001:db8:1:2::/64`. */
export const addressKey = (address: string) => `address:${throttleAddress(address)}`;

/**
 * Failed sign-ins counted per account and per client address (an IPv6 client's /64) in Postgres (table `auth_throttle`), so
 * several server containers enforce one limit. After `accountFailureLimit` failures for one email (or
 * `addressFailureLimit` from one address) within `failureWindowSeconds`, that key is refused for
 * `lockoutSeconds`, even with the right password. The account key is the submitted email whether or
 * not such a user exists, so a lock tells nothing about existence. A success does not clear the
 * address count: an attacker with one valid account cannot reset it between guesses at others.
 */
export function createSignInThrottle({ sql, config }: { sql: Sql; config: AuthConfig }): SignInThrottle {
  const window = config.failureWindowSeconds;
  const lockout = config.lockoutSeconds;
  return {
    async lockedFor({ account, address }) {
      const [row] = await sql<{ seconds: number | null }[]>`
        SELECT ceil(extract(epoch FROM max(locked_until) - now()))::int AS seconds
          FROM auth_throttle WHERE key IN (${account}, ${address}) AND locked_until > now()`;
      return row?.seconds ?? 0;
    },

    async recordFailure({ account, address }) {
      await sql`
        INSERT INTO auth_throttle AS t (key, failures, window_started_at, locked_until, updated_at)
        SELECT k.key, 1, now(), CASE WHEN 1 >= k.lim THEN now() + make_interval(secs => ${lockout}) END, now()
          FROM unnest(${[account, address]}::text[], ${[config.accountFailureLimit, config.addressFailureLimit]}::int[]) AS k(key, lim)
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN t.window_started_at < now() - make_interval(secs => ${window}) THEN 1 ELSE t.failures + 1 END,
          window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => ${window})
                                   THEN now() ELSE t.window_started_at END,
          locked_until = CASE
            WHEN (CASE WHEN t.window_started_at < now() - make_interval(secs => ${window}) THEN 1 ELSE t.failures + 1 END)
                 >= (CASE WHEN t.key LIKE 'account:%' THEN ${config.accountFailureLimit}::int ELSE ${config.addressFailureLimit}::int END)
            THEN now() + make_interval(secs => ${lockout}) ELSE t.locked_until END,
          updated_at = now()`;
    },

    async clearAccount({ account }) {
      await sql`DELETE FROM auth_throttle WHERE key = ${account}`;
    },

    async sweep() {
      const rows = await sql`
        DELETE FROM auth_throttle
         WHERE updated_at < now() - make_interval(secs => ${Math.max(window + lockout, config.registrationWindowSeconds)})
           AND (locked_until IS NULL OR locked_until < now())`;
      return rows.count;
    },
  };
}
