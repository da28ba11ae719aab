import type { Sql } from 'postgres';
import type { AuthConfig } from '../config.ts';
import { HttpError } from '../errors.ts';
import { notifyUsers } from '../notifications/notify-users.ts';
import { hashPassword } from './password-hash.ts';
import { checkPasswordPolicy } from './password-policy.ts';
import { countRegistration } from './registration-limit.ts';
import { normalizeEmail } from './user-accounts.ts';

export type RegistrationInput = {
  email: string;
  full_name: string;
  requested_role: 'farmer' | 'technician';
  password: string;
  message?: string | null;
};

/**
 * Records a request for an account (never an account itself). The answer is the same whether the
 * email is new, already pending or already an account — and the password is hashed in every case —
 * so registering cannot be used to find out who has an account. Admins are notified
 * (`registration_pending`) of each new request. Requests from one address are limited
 * (countRegistration: 429 past the limit), counted after the password policy and before the hash.
 */
export async function requestRegistration(
  sql: Sql,
  config: AuthConfig,
  input: RegistrationInput,
  { address }: { address: string },
): Promise<void> {
  const problems = checkPasswordPolicy(input.password, input.email, '/password');
  if (problems.length > 0)
    throw new HttpError(422, 'invalid_request', 'the password does not meet the policy', { problems });
  await countRegistration(sql, config, address);
  const hash = await hashPassword(input.password, config.scrypt);
  const email = normalizeEmail(input.email);
  await sql.begin(async (tx) => {
    const [row] = await tx<{ id: string }[]>`
      INSERT INTO registration_requests (email, full_name, password_hash, requested_role, message)
      SELECT ${email}, ${input.full_name.trim()}, ${hash}, ${input.requested_role}, ${input.message?.trim() || null}
       WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(email) = ${email})
      ON CONFLICT ((lower(email))) WHERE status = 'pending' DO NOTHING
      RETURNING id`;
    if (row === undefined) return;
    await notifyUsers(tx, {
      type: 'registration_pending',
      dedupeKey: `registration_pending:${row.id}`,
      payload: { registration_id: row.id, email, requested_role: input.requested_role },
      audience: { roles: ['admin'] },
    });
  });
}
