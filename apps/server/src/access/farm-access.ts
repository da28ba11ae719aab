import type { PendingQuery, Row, Sql, TransactionSql } from 'postgres';
import { isAdmin, isTechnician, type Principal } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';

export type Db = Sql | TransactionSql;
export type Fragment = PendingQuery<Row[]>;

/**
 * The access rules of docs/access-matrix.md as SQL conditions, used by every query of the API and the
 * pages (never only by hiding links): a row outside them does not exist for that user.
 *
 * A farm link (user_farms, migration 0016) is made in a role: farmer or technician.
 * read:  admin → every farm; others → the farms linked to them in a role they hold now.
 * write: admin → every farm; technician → the farms linked to them as technician; farmer → none.
 */
export function readableFarm(sql: Db, principal: Principal, column: Fragment): Fragment {
  if (isAdmin(principal)) return sql`TRUE`;
  return linkedFarm(sql, principal.userId, column);
}

/**
 * The farms linked to `user` in a role they hold now (`role`: only links of that role), as a
 * subquery of `farm_id`s — one row per farm (a user linked as farmer and as technician appears once).
 * The role is read from user_roles, not from the session: the rule is the database's.
 */
export function linkedFarmIds(sql: Db, user: string | Fragment, role?: 'technician'): Fragment {
  return sql`
    SELECT DISTINCT uf.farm_id FROM user_farms uf
     WHERE uf.user_id = ${user} ${role ? sql`AND uf.role = ${role}` : sql``}
       AND ${linkRoleHeld(sql)}`;
}

/** `uf` (a user_farms row) was made in a role its user holds now: a link of a role taken away gives nothing. */
export function linkRoleHeld(sql: Db): Fragment {
  return sql`uf.role IN (SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = uf.user_id)`;
}

/** The non-admin read rule: `column` is a farm linked to `user` (an id, or a column for many users). */
function linkedFarm(sql: Db, user: string | Fragment, column: Fragment): Fragment {
  return sql`${column} IN (${linkedFarmIds(sql, user)})`;
}

/**
 * The farms each principal may read now, in one query for all of them (the live list's periodic
 * re-check): user id → farm ids. Admins read every farm and get no entry (check `isAdmin` first).
 *
 * @example const farms = await readableFarmIds(sql, principals); farms.get(p.userId)?.has(farmId);
 */
export async function readableFarmIds(
  sql: Db,
  principals: readonly Principal[],
): Promise<Map<string, Set<string>>> {
  const users = [...new Set(principals.filter((p) => !isAdmin(p)).map((p) => p.userId))];
  const farms = new Map(users.map((id) => [id, new Set<string>()]));
  // LATERAL: the rule is applied per user (a semi-join on user_farms), not as a sub-plan per user × farm.
  if (users.length === 0) return farms;
  const rows = await sql<{ user_id: string; farm_id: string }[]>`
    SELECT u.id AS user_id, f.id AS farm_id
      FROM unnest(${users}::uuid[]) AS u(id)
     CROSS JOIN LATERAL (SELECT f.id FROM farms f WHERE ${linkedFarm(sql, sql`u.id`, sql`f.id`)}) AS f`;
  for (const row of rows) farms.get(row.user_id)?.add(row.farm_id);
  return farms;
}

/**
 * The scan's animal (scans `s`), joined as `alias` only when the principal may read the animal's farm.
 * A scan stays on the farm it was taken on when its animal moves to another farm (the animal's record
 * is the new farm's): that farm's tag, EID, sex and breed are not shown to users of the old farm, for
 * whom GET /animals/{id} is a 404 too. Select the animal's id as `alias.id`, never `s.animal_id`.
 */
export function visibleAnimalJoin(sql: Db, principal: Principal, alias: string): Fragment {
  const a = sql(alias);
  return sql`LEFT JOIN animals ${a} ON ${a}.id = s.animal_id AND ${readableFarm(sql, principal, sql`${a}.farm_id`)}`;
}

export function writableFarm(sql: Db, principal: Principal, column: Fragment): Fragment {
  if (isAdmin(principal)) return sql`TRUE`;
  if (!isTechnician(principal)) return sql`FALSE`;
  return sql`${column} IN (${linkedFarmIds(sql, principal.userId, 'technician')})`;
}

/** `a AND b AND …` (TRUE for none). */
export function and(sql: Db, conditions: readonly Fragment[]): Fragment {
  if (conditions.length === 0) return sql`TRUE`;
  return conditions.reduce((acc, cond) => sql`${acc} AND ${cond}`);
}

/** Whether the principal may write on farm `farmId`: null when the farm does not exist for them. */
export async function farmRights(
  sql: Db,
  principal: Principal,
  farmId: string,
): Promise<{ writable: boolean } | null> {
  const [row] = await sql<{ writable: boolean }[]>`
    SELECT ${writableFarm(sql, principal, sql`f.id`)} AS writable
      FROM farms f WHERE f.id = ${farmId} AND ${readableFarm(sql, principal, sql`f.id`)}`;
  return row ?? null;
}

/**
 * A farm named in a body (`/farm_id`) that the principal must be able to write: 422 when it is no
 * farm they can see, 403 (`refusal`) when they only read it.
 */
export async function requireWritableFarm(sql: Db, principal: Principal, farmId: string, refusal: string) {
  const rights = await farmRights(sql, principal, farmId);
  if (rights === null)
    throw new HttpError(422, 'invalid_request', '/farm_id is not a farm you can see', {
      problems: [{ pointer: '/farm_id', message: 'is not a farm you can see' }],
    });
  if (!rights.writable) throw forbidden(refusal);
}
