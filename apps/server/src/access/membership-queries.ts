import type { Sql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { isAdmin } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';
import { type Db, readableFarm } from './farm-access.ts';
import { farmsOnlyOwnedBy } from './farm-owners.ts';

export type MemberRow = {
  user_id: string;
  email: string;
  full_name: string | null;
  roles: string[];
  is_owner: boolean;
};

/** Members of a farm the principal may see (admins, and the farm's own members). */
export async function listMembers(
  sql: Db,
  principal: Principal,
  farmId: string,
): Promise<MemberRow[] | undefined> {
  const [farm] =
    await sql`SELECT 1 FROM farms f WHERE f.id = ${farmId} AND ${readableFarm(sql, principal, sql`f.id`)}`;
  if (!farm) return undefined;
  return sql<MemberRow[]>`
    SELECT u.id AS user_id, u.email, u.full_name, uf.is_owner,
           ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id ORDER BY r.id) AS roles
      FROM user_farms uf JOIN users u ON u.id = uf.user_id WHERE uf.farm_id = ${farmId} ORDER BY u.email`;
}

/**
 * The caller's standing on a farm, taken under a row lock on the farm so membership changes of one farm
 * are serialised (the last-owner rule cannot be raced). undefined = farm not visible.
 */
async function standing(tx: Db, principal: Principal, farmId: string) {
  const [row] = await tx<{ owner: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM user_farms uf WHERE uf.farm_id = f.id AND uf.user_id = ${principal.userId} AND uf.is_owner) AS owner
      FROM farms f WHERE f.id = ${farmId} AND ${readableFarm(tx, principal, tx`f.id`)} FOR UPDATE OF f`;
  return row === undefined ? undefined : { admin: isAdmin(principal), owner: row.owner };
}

async function rolesOf(tx: Db, userId: string): Promise<string[] | undefined> {
  const [row] = await tx<{ roles: string[] }[]>`
    SELECT ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id) AS roles
      FROM users u WHERE u.id = ${userId} AND u.status = 'active'`;
  return row?.roles;
}

const noSuchUser = (pointer: string) =>
  new HttpError(422, 'invalid_request', `${pointer} names no active user who can join this farm`, {
    problems: [{ pointer, message: 'names no active farmer or technician who can join this farm' }],
  });

/**
 * Adds (or updates) a member. Admins add farmers and technicians, owners among the farmers; a farm
 * owner adds technicians only (never owners, nor demotes one by re-adding them). Returns false when
 * the farm is not visible.
 */
export async function addMember(
  sql: Sql,
  principal: Principal,
  farmId: string,
  { userId, email, isOwner = false }: { userId?: string; email?: string; isOwner?: boolean },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const me = await standing(tx, principal, farmId);
    if (me === undefined) return false;
    if (!me.admin && !me.owner) throw forbidden('only admins and the farm’s owners manage its members');
    if (!me.admin && isOwner) throw forbidden('farm owners add technicians only; an admin names owners');
    const pointer = userId ? '/user_id' : '/email';
    const [target] = userId
      ? await tx<{ id: string }[]>`SELECT id FROM users WHERE id = ${userId}`
      : await tx<
          { id: string }[]
        >`SELECT id FROM users WHERE lower(email) = ${(email ?? '').trim().toLowerCase()}`;
    const roles = target ? await rolesOf(tx, target.id) : undefined;
    if (!target || !roles) throw noSuchUser(pointer);
    const [existing] = await tx<{ is_owner: boolean }[]>`
      SELECT is_owner FROM user_farms WHERE farm_id = ${farmId} AND user_id = ${target.id}`;
    if (!me.admin && !roles.includes('technician')) {
      // An owner sees the farm's members (and may be told why one cannot be re-added), but must not
      // learn who else has an account, nor its role: anyone else but an active technician is the same
      // 422 as an unknown address (registration and sign-in keep that secret too).
      if (existing) throw forbidden('farm owners add technicians only; an admin names owners');
      throw noSuchUser(pointer);
    }
    if (!roles.includes('farmer') && !roles.includes('technician')) throw noSuchUser(pointer);
    if (isOwner && !roles.includes('farmer')) {
      throw new HttpError(422, 'invalid_request', 'only farmers can own a farm', {
        problems: [{ pointer: '/is_owner', message: 'only a farmer can be an owner' }],
      });
    }
    // Re-adding an owner without is_owner demotes them: that is naming owners, an admin's call.
    if (existing?.is_owner && !isOwner && !me.admin) {
      throw forbidden('farm owners add technicians only; an admin names owners');
    }
    if (existing?.is_owner && !isOwner) await refuseLastOwner(tx, farmId, target.id);
    await tx`
      INSERT INTO user_farms (user_id, farm_id, is_owner) VALUES (${target.id}, ${farmId}, ${isOwner})
      ON CONFLICT (user_id, farm_id) DO UPDATE SET is_owner = excluded.is_owner`;
    return true;
  });
}

/** Removes a member: admins anyone, owners technicians only; never the last active owner (409). */
export async function removeMember(
  sql: Sql,
  principal: Principal,
  farmId: string,
  userId: string,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const me = await standing(tx, principal, farmId);
    if (me === undefined) return false;
    if (!me.admin && !me.owner) throw forbidden('only admins and the farm’s owners manage its members');
    const [member] = await tx<{ is_owner: boolean }[]>`
      SELECT is_owner FROM user_farms WHERE farm_id = ${farmId} AND user_id = ${userId}`;
    if (!member) return false;
    const roles = (await rolesOf(tx, userId)) ?? [];
    if (!me.admin && (member.is_owner || !roles.includes('technician') || roles.includes('farmer'))) {
      throw forbidden('farm owners remove technicians only');
    }
    if (member.is_owner) await refuseLastOwner(tx, farmId, userId);
    await tx`DELETE FROM user_farms WHERE farm_id = ${farmId} AND user_id = ${userId}`;
    return true;
  });
}

/** Admin: make a member owner or not; never demote the last active owner (409). */
export async function setOwner(
  sql: Sql,
  principal: Principal,
  farmId: string,
  userId: string,
  isOwner: boolean,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const me = await standing(tx, principal, farmId);
    if (me === undefined) return false;
    if (!me.admin) throw forbidden('only admins name farm owners');
    const [member] = await tx<{ is_owner: boolean }[]>`
      SELECT is_owner FROM user_farms WHERE farm_id = ${farmId} AND user_id = ${userId}`;
    if (!member) return false;
    if (isOwner && !((await rolesOf(tx, userId)) ?? []).includes('farmer')) {
      throw new HttpError(422, 'invalid_request', 'only farmers can own a farm', {
        problems: [{ pointer: '/is_owner', message: 'only a farmer can be an owner' }],
      });
    }
    if (member.is_owner && !isOwner) await refuseLastOwner(tx, farmId, userId);
    await tx`UPDATE user_farms SET is_owner = ${isOwner} WHERE farm_id = ${farmId} AND user_id = ${userId}`;
    return true;
  });
}

/** An owner about to be removed or demoted: refused (409) unless another active user owns the farm. */
async function refuseLastOwner(tx: Db, farmId: string, ownerId: string) {
  const [farm] = await farmsOnlyOwnedBy(tx, ownerId, farmId);
  if (farm === undefined) return;
  throw new HttpError(
    409,
    'last_owner',
    `${farm} keeps at least one active owner, and this member is its only one: make another active farmer owner first`,
  );
}
