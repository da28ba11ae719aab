import type { Sql } from 'postgres';
import type { AuthConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import { throttleAddress } from './address-bucket.ts';

/** IPv6 addresses count by their /64 (address-bucket.ts): `registration:2001:db8:1:2::/64`. */
export const registrationKey = (address: string) => `registration:${throttleAddress(address)}`;

/**
 * Counts an account request from `address` (table `auth_throttle`, key `registration:<address>` —
 * an IPv6 address by its /64 —, shared by every server container) and refuses the request past `registrationAddressLimit` within
 * `registrationWindowSeconds`: 429 `too_many_registrations` with Retry-After (the end of the window).
 * Each request costs a scrypt hash, a row and a notification to every admin, so an anonymous caller
 * must not be able to make them at will. Refused requests count too (the window does not move).
 *
 * @example await countRegistration(sql, config.auth, clientAddress(c, config.auth.trustProxyHops));
 */
export async function countRegistration(sql: Sql, config: AuthConfig, address: string): Promise<void> {
  const window = config.registrationWindowSeconds;
  const expired = sql`t.window_started_at < now() - make_interval(secs => ${window})`;
  const [row] = await sql<{ requests: number; retry: number }[]>`
    INSERT INTO auth_throttle AS t (key, failures, window_started_at, updated_at)
    VALUES (${registrationKey(address)}, 1, now(), now())
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN ${expired} THEN 1 ELSE t.failures + 1 END,
      window_started_at = CASE WHEN ${expired} THEN now() ELSE t.window_started_at END,
      updated_at = now()
    RETURNING failures AS requests,
              greatest(1, ceil(extract(epoch FROM window_started_at + make_interval(secs => ${window}) - now())))::int AS retry`;
  if (row!.requests <= config.registrationAddressLimit) return;
  throw new HttpError(
    429,
    'too_many_registrations',
    `too many account requests from this address; try again in ${row!.retry} s`,
    { headers: { 'Retry-After': String(row!.retry) } },
  );
}
