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
 * Replaces a user's roles. A farm link is made in a role (`user_farms.role`, farmer or technician): a
 * user who loses a role loses exactly the links made in that role, in the caller's transaction — the
 * farms they were linked to in the role they keep stay theirs, and giving a role back restores nothing
 * (an admin links the farms again). Every path that changes roles (API, pages, CLI, approval) comes
 * through here. Returns the links removed, for the caller's log.
 *
 * @example const unlinked = await setRoles(tx, userId, ['technician']); // → [{ farm_id, role: 'farmer' }, …]
 */
export async function setRoles(
  sql: Sql | TransactionSql,
  userId: string,
  roles: readonly RoleName[],
): Promise<UnlinkedFarm[]> {
  const removed = await sql<{ name: string }[]>`
    DELETE FROM user_roles ur USING roles r WHERE ur.user_id = ${userId} AND r.id = ur.role_id RETURNING r.name`;
  await sql`
    INSERT INTO user_roles (user_id, role_id)
    SELECT ${userId}, id FROM roles WHERE name = ANY(${[...roles]}::text[])`;
  const lost = removed.map((r) => r.name).filter((name) => !roles.includes(name as RoleName));
  if (!lost.some((name) => name === 'farmer' || name === 'technician')) return [];
  return sql<UnlinkedFarm[]>`
    DELETE FROM user_farms WHERE user_id = ${userId} AND role = ANY(${lost}::text[])
    RETURNING farm_id, role`;
}

/** A farm link removed with its role (setRoles). */
export type UnlinkedFarm = { farm_id: string; role: 'farmer' | 'technician' };
