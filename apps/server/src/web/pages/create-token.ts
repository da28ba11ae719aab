import { createHash, randomBytes } from 'node:crypto';
import { type FormValues, textOf } from './page-kit.tsx';

/**
 * One-time tokens for the create forms whose rows have no natural key (farms, announcements): a form
 * sent twice — no JavaScript to stop a double click, or a retry by a flaky connection — must make one
 * row. Each render of the form carries a fresh random token; the server makes the new row's id from
 * (user id, token) and inserts it with `ON CONFLICT (id) DO NOTHING`, so the second submit finds the
 * first's row (waiting on the primary key while the first is uncommitted) and is answered the same.
 * The user id is hashed in, so nobody can aim at another user's ids. No table, no migration.
 *
 * @example
 *   <input type="hidden" name={CREATE_TOKEN_FIELD} value={newCreateToken()} />
 *   const id = createdIdFrom(form, principal.userId); // undefined: random id, as before
 */
export const CREATE_TOKEN_FIELD = '_create_token';

/** 128 random bits, base64url (22 characters). */
export const newCreateToken = (): string => randomBytes(16).toString('base64url');

// What a token may look like; anything else is treated as no token (a random id), never an error.
const TOKEN_RE = /^[A-Za-z0-9_-]{16,64}$/;

// A fixed namespace for these ids (RFC 9562 name-based UUID, version 5).
const NAMESPACE = Buffer.from('6b0e3d1c4f2a4e8b9a715c2d8e3f4a60', 'hex');

/** The name-based (v5) UUID of `token` for `userId`: the same pair always gives the same id. */
export function idForCreateToken(userId: string, token: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${userId}\n${token}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id a create form asks for, or undefined (missing or malformed token: a random id). */
export function createdIdFrom(form: FormValues, userId: string): string | undefined {
  const token = textOf(form, CREATE_TOKEN_FIELD);
  return TOKEN_RE.test(token) ? idForCreateToken(userId, token) : undefined;
}
