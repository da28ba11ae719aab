import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { RoleName } from '../auth/roles.ts';
import { setRoles, type UnlinkedFarm } from '../auth/user-accounts.ts';
import { HttpError } from '../errors.ts';
import { and, type Db, type Fragment } from './farm-access.ts';
import { type UserFarm, userFarmsJson } from './farm-links.ts';
import { farmsOnlyOwnedBy } from './farm-owners.ts';
import { isoUtc } from './sql-fragments.ts';

export type UserRow = {
  id: string;
  email: string;
  full_name: string | null;
  roles: RoleName[];
  status: 'active' | 'disabled';
  operator_code: string | null;
  created_at: string | null;
  last_sign_in_at: string | null;
  farms: UserFarm[];
};

const columns = (sql: Db) => sql`
  u.id, u.email, u.full_name, u.status, u.operator_code,
  ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id ORDER BY r.id) AS roles,
  ${isoUtc(sql, sql`u.created_at`)} AS created_at, ${isoUtc(sql, sql`u.last_sign_in_at`)} AS last_sign_in_at,
  ${userFarmsJson(sql, sql`u.id`)} AS farms`;

/** Admin: every user, filtered. */
export function listUsers(sql: Db, f: { role?: string; status?: string; q?: string }) {
  const conds: Fragment[] = [];
  if (f.role)
    conds.push(
      sql`u.id IN (SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.name = ${f.role})`,
    );
  if (f.status) conds.push(sql`u.status = ${f.status}`);
  if (f.q) {
    const like = `%${f.q.replace(/[\\%_]/g, '\\$&')}%`;
    conds.push(sql`(u.email ILIKE ${like} OR u.full_name ILIKE ${like})`);
  }
  return sql<
    UserRow[]
  >`SELECT ${columns(sql)} FROM users u WHERE ${and(sql, conds)} ORDER BY u.email LIMIT 1000`;
}

export async function findUser(sql: Db, id: string): Promise<UserRow | undefined> {
  const [row] = await sql<UserRow[]>`SELECT ${columns(sql)} FROM users u WHERE u.id = ${id}`;
  return row;
}

const lastAdmin = () =>
  new HttpError(409, 'last_admin', 'this is the last active admin: make someone else admin first');

/**
 * The farm-owner rule for a user about to lose the farmer role (only farmers own farms) or be disabled
 * (a disabled user cannot sign in): refused (409 `last_owner`, naming the farms) where no other active
 * user owns the farm, so every farm keeps an owner who can sign in — the same rule (and farm locks)
 * as the membership changes, farmsOnlyOwnedBy.
 */
async function refuseLastOwner(
  tx: Db,
  userId: string,
  change: { losesFarmer: boolean; disables: boolean },
): Promise<void> {
  if (!change.losesFarmer && !change.disables) return;
  const sole = await farmsOnlyOwnedBy(tx, userId);
  if (sole.length === 0) return;
  const farms = sole.join(', ');
  const why = [];
  const problems = [];
  if (change.losesFarmer) {
    why.push('only farmers own farms');
    problems.push({ pointer: '/roles', message: `must keep "farmer" while the only owner of ${farms}` });
  }
  if (change.disables) {
    why.push('a disabled user cannot sign in');
    problems.push({ pointer: '/status', message: `must stay "active" while the only owner of ${farms}` });
  }
  throw new HttpError(
    409,
    'last_owner',
    `${why.join(' and ')}, and this user is the only owner of ${farms}: make someone else owner first`,
    { problems },
  );
}

/** A unique violation on users (the operator code) as a 409 naming `/operator_code`; anything else rethrown. */
export function operatorCodeConflict(err: unknown): never {
  if ((err as { code?: string }).code === '23505') {
    throw new HttpError(409, 'conflict', 'another user has this operator code', {
      problems: [{ pointer: '/operator_code', message: 'is already assigned to another user' }],
    });
  }
  throw err;
}

/**
 * Admin edits of a user. Disabling ends every session at once; the last active admin can neither be
 * disabled nor lose the admin role (409); a farm's only active owner can neither be disabled nor lose
 * the farmer role (409); a user losing the farmer or technician role loses the farm links made in that
 * role (setRoles), a co-owner so stops owning. false = no such user; else the links removed, for the
 * caller's log.
 */
export async function updateUser(
  sql: Sql,
  id: string,
  input: {
    full_name?: string;
    roles?: RoleName[];
    status?: 'active' | 'disabled';
    operator_code?: string | null;
  },
): Promise<false | { unlinkedFarms: UnlinkedFarm[] }> {
  return sql.begin(async (tx) => {
    // Serialise admin changes so two admins cannot demote each other at the same moment.
    await tx`SELECT pg_advisory_xact_lock(hashtext('cti:user-admin-changes'))`;
    const [user] = await tx<{ status: string; admin: boolean }[]>`
      SELECT u.status, EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                               WHERE ur.user_id = u.id AND r.name = 'admin') AS admin
        FROM users u WHERE u.id = ${id} FOR UPDATE`;
    if (!user) return false;
    const losesAdmin =
      user.admin &&
      user.status === 'active' &&
      ((input.roles && !input.roles.includes('admin')) || input.status === 'disabled');
    if (losesAdmin) {
      const [row] = await tx<{ n: number }[]>`
        SELECT count(*)::int AS n FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
         WHERE r.name = 'admin' AND u.status = 'active'`;
      if ((row?.n ?? 0) <= 1) throw lastAdmin();
    }
    const losesFarmer = input.roles !== undefined && !input.roles.includes('farmer');
    await refuseLastOwner(tx, id, {
      losesFarmer,
      disables: user.status === 'active' && input.status === 'disabled',
    });
    try {
      await tx`
        UPDATE users u SET full_name = ${input.full_name === undefined ? tx`u.full_name` : input.full_name.trim()},
               status = ${input.status ?? tx`u.status`},
               operator_code = ${'operator_code' in input ? (input.operator_code ?? null) : (tx`u.operator_code` as never)},
               updated_at = now()
         WHERE u.id = ${id}`;
    } catch (err) {
      operatorCodeConflict(err);
    }
    // Losing a role removes the farm links made in it (setRoles): a co-owner losing farmer stops owning.
    const unlinkedFarms = input.roles ? await setRoles(tx, id, input.roles) : [];
    if (input.status === 'disabled') await tx`DELETE FROM sessions WHERE user_id = ${id}`;
    return { unlinkedFarms };
  });
}

/** Logs the farm links a role change removed (updateUser), so an operator can see why access ended. */
export function logUnlinked(log: Logger, userId: string, links: readonly UnlinkedFarm[]): void {
  for (const role of ['farmer', 'technician'] as const) {
    const farmIds = links.filter((l) => l.role === role).map((l) => l.farm_id);
    if (farmIds.length > 0)
      log.info({ user_id: userId, role, farm_ids: farmIds }, `${role} role removed: its farm links removed`);
  }
}
