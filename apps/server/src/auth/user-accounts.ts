import type { Sql, TransactionSql } from 'postgres';
import { HttpError } from '../errors.ts';
import type { RoleName } from './roles.ts';

export type NewUser = {
  email: string;
  fullName: string | null;
  roles: readonly RoleName[];
  passwordHash: string;
};

/** Emails are compared and stored lower-cased and trimmed: one account per address. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/**
 * Inserts an active user with its roles in the caller's transaction; a taken email (any case) is a
 * 409 naming `/email`. Shared by `cti-server user add`, the admin API and registration approval.
 *
 * @example const id = await sql.begin((tx) => createUser(tx, { email, fullName, roles: ['admin'], passwordHash }));
 */
export async function createUser(sql: Sql | TransactionSql, user: NewUser): Promise<string> {
  try {
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO users (email, full_name, password_hash, password_changed_at)
      VALUES (${normalizeEmail(user.email)}, ${user.fullName}, ${user.passwordHash}, now())
      RETURNING id`;
    await setRoles(sql, row!.id, user.roles);
    return row!.id;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw emailTaken();
    throw err;
  }
}

export function emailTaken(): HttpError {
  return new HttpError(409, 'email_taken', 'an account with this email already exists', {
    problems: [{ pointer: '/email', message: 'is already used by another account' }],
  });
}

/**
 * Replaces a user's roles. A user who loses the farmer role loses every farm link too (`user_farms`),
 * in the caller's transaction: a farmer's farm access follows the role, so a farmer made technician
 * does not become a technician of the farms they only read, and giving the role back restores nothing
 * (an admin links the farms again). Every path that changes roles (API, pages, CLI, approval) comes
 * through here. Returns the farms unlinked, for the caller's log.
 *
 * @example const unlinked = await setRoles(tx, userId, ['technician']); // → ['<farm id>', …]
 */
export async function setRoles(
  sql: Sql | TransactionSql,
  userId: string,
  roles: readonly RoleName[],
): Promise<string[]> {
  const removed = await sql<{ name: string }[]>`
    DELETE FROM user_roles ur USING roles r WHERE ur.user_id = ${userId} AND r.id = ur.role_id RETURNING r.name`;
  await sql`
    INSERT INTO user_roles (user_id, role_id)
    SELECT ${userId}, id FROM roles WHERE name = ANY(${[...roles]}::text[])`;
  if (roles.includes('farmer') || !removed.some((r) => r.name === 'farmer')) return [];
  const unlinked = await sql<
    { farm_id: string }[]
  >`DELETE FROM user_farms WHERE user_id = ${userId} RETURNING farm_id`;
  return unlinked.map((r) => r.farm_id);
}
