import { createHash, randomBytes } from 'node:crypto';
import type { Sql, TransactionSql } from 'postgres';
import { HttpError } from '../../errors.ts';
import { type FormValues, textOf } from './page-kit.tsx';

/**
 * One-time tokens for the dashboard's create forms: a form sent twice — no JavaScript to stop a double
 * click, the back button, a retry by a flaky connection — must make one row. Each render of the form
 * carries a fresh random token. `createOnce` claims the token in `form_submissions` (migration 0015) in
 * the same transaction as the row it makes and records the row's id: the same form sent again lands on
 * that row, or is refused with 409 `form_already_submitted` when the row has since been deleted (it is
 * never made again). Two at once: the second waits on the claim's key until the first commits.
 * Farms and announcements also take their id from (user id, token) (`createdIdFrom`, v5 UUID).
 *
 * @example
 *   <input type="hidden" name={CREATE_TOKEN_FIELD} value={newCreateToken()} />
 *   const id = await createOnce(sql, { form: 'group', userId, token: createTokenOf(form) },
 *     (tx) => createGroup(tx, principal, input));
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

/** The form's token, or undefined when missing or malformed (no protection, never an error). */
export function createTokenOf(form: FormValues): string | undefined {
  const token = textOf(form, CREATE_TOKEN_FIELD);
  return TOKEN_RE.test(token) ? token : undefined;
}

/** The id a create form asks for, or undefined (missing or malformed token: a random id). */
export function createdIdFrom(form: FormValues, userId: string): string | undefined {
  const token = createTokenOf(form);
  return token === undefined ? undefined : idForCreateToken(userId, token);
}

/** The tables whose rows the create forms make (what `createOnce` looks a recorded id up in). */
const FORM_TABLES = {
  farm: 'farms',
  announcement: 'announcements',
  group: 'contemporary_groups',
  animal: 'animals',
  user: 'users',
  calibration: 'device_calibrations',
} as const;
export type CreateForm = keyof typeof FORM_TABLES;

/** How long a used token is remembered; `sweepFormSubmissions` forgets older ones. */
export const FORM_TOKEN_RETENTION_DAYS = 30;

export const alreadySubmitted = () =>
  new HttpError(
    409,
    'form_already_submitted',
    'this form was already submitted, and what it made has since been deleted, is no longer yours to see, or was made by another form: nothing was saved this time. Open the page again for a new form',
  );

/**
 * Runs `create` (in a transaction) once per (user, token): returns the new row's id, or the id the
 * first submit of this token made while that row still exists; a token whose row is gone, or that
 * was used on another form, is a 409 `form_already_submitted` and nothing is written. So is a re-send
 * that `landsOn` refuses: the row is no longer the user's to see (they lost its farm), or was made
 * for another target (a calibration form re-sent to another device's address) — answering "created"
 * there would send them to a page they may not see, or say "set" of something never touched.
 * Without a token `create` simply runs. A failure inside `create` rolls the claim back with the row.
 */
export async function createOnce(
  sql: Sql,
  claim: {
    form: CreateForm;
    userId: string;
    token: string | undefined;
    /** Whether this request may land on `id`, the row the token made; default: yes. */
    landsOn?: (tx: TransactionSql, id: string) => Promise<boolean>;
  },
  create: (tx: TransactionSql) => Promise<string>,
): Promise<string> {
  const { form, userId, token, landsOn } = claim;
  return sql.begin(async (tx) => {
    if (token === undefined) return create(tx);
    const hash = createHash('sha256').update(token).digest();
    const [claimed] = await tx`
      INSERT INTO form_submissions (user_id, token_hash, form) VALUES (${userId}, ${hash}, ${form})
      ON CONFLICT (user_id, token_hash) DO NOTHING RETURNING 1 AS ok`;
    if (claimed) {
      const id = await create(tx);
      await tx`UPDATE form_submissions SET row_id = ${id} WHERE user_id = ${userId} AND token_hash = ${hash}`;
      return id;
    }
    const [used] = await tx<{ form: string; row_id: string | null }[]>`
      SELECT form, row_id FROM form_submissions WHERE user_id = ${userId} AND token_hash = ${hash}`;
    if (!used || used.form !== form || used.row_id === null) throw alreadySubmitted();
    const [row] = await tx`SELECT 1 FROM ${tx(FORM_TABLES[form])} WHERE id = ${used.row_id}`;
    if (!row || (landsOn && !(await landsOn(tx, used.row_id)))) throw alreadySubmitted();
    return used.row_id;
  });
}

/** Forgets tokens used more than `retentionDays` ago; how many. Safe on several replicas at once. */
export async function sweepFormSubmissions(sql: Sql, retentionDays = FORM_TOKEN_RETENTION_DAYS) {
  const rows =
    await sql`DELETE FROM form_submissions WHERE created_at < now() - make_interval(days => ${retentionDays})`;
  return rows.count;
}
