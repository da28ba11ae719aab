import type { Sql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { isAdmin } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';
import { type Db, readableFarm } from './farm-access.ts';
import type { LinkRole } from './farm-links.ts';
import { farmsOnlyOwnedBy } from './farm-owners.ts';

export type MemberRow = {
  user_id: string;
  email: string;
  full_name: string | null;
  roles: string[];
  is_owner: boolean;
  /** The roles the member is linked to the farm in (user_farms.role): farmer, technician or both. */
  linked_as: LinkRole[];
};

/** Members of a farm the principal may see (admins, and the farm's own members): one row per user. */
export async function listMembers(
  sql: Db,
  principal: Principal,
  farmId: string,
): Promise<MemberRow[] | undefined> {
  const [farm] =
    await sql`SELECT 1 FROM farms f WHERE f.id = ${farmId} AND ${readableFarm(sql, principal, sql`f.id`)}`;
  if (!farm) return undefined;
  return sql<MemberRow[]>`
    SELECT u.id AS user_id, u.email, u.full_name, bool_or(uf.is_owner) AS is_owner,
           array_agg(uf.role ORDER BY uf.role) AS linked_as,
           ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id ORDER BY r.id) AS roles
      FROM user_farms uf JOIN users u ON u.id = uf.user_id WHERE uf.farm_id = ${farmId}
     GROUP BY u.id ORDER BY u.email`;
}

/**
 * The caller's standing on a farm, taken under a row lock on the farm so membership changes of one farm
 * are serialised (the last-owner rule cannot be raced). undefined = farm not visible. Only farmer
 * links own (a CHECK of migration 0016).
 */
async function standing(tx: Db, principal: Principal, farmId: string) {
  const [row] = await tx<{ owner: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM user_farms uf WHERE uf.farm_id = f.id AND uf.user_id = ${principal.userId}
                      AND uf.role = 'farmer' AND uf.is_owner) AS owner
      FROM farms f WHERE f.id = ${farmId} AND ${readableFarm(tx, principal, tx`f.id`)} FOR UPDATE OF f`;
  return row === undefined
    ? undefined
    : { admin: isAdmin(principal), owner: row.owner, userId: principal.userId };
}

async function rolesOf(tx: Db, userId: string): Promise<string[] | undefined> {
  const [row] = await tx<{ roles: string[] }[]>`
    SELECT ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id) AS roles
      FROM users u WHERE u.id = ${userId} AND u.status = 'active'`;
  return row?.roles;
}

/** The links of one user to one farm: role → is_owner. */
async function linksOf(tx: Db, farmId: string, userId: string): Promise<Map<LinkRole, boolean>> {
  const rows = await tx<{ role: LinkRole; is_owner: boolean }[]>`
    SELECT role, is_owner FROM user_farms WHERE farm_id = ${farmId} AND user_id = ${userId}`;
  return new Map(rows.map((r) => [r.role, r.is_owner]));
}

/**
 * A caller's standing on a farm's membership: an admin, an owner (a farmer link marked owner), or
 * neither; `userId` is the caller's own id (an owner never manages their own links).
 */
export type MemberManager = { admin: boolean; owner: boolean; userId: string };

/**
 * The one rule for who removes which link: of a member's links (`linkedAs`), those `me` may remove —
 * admins any, a farm's owners the technician link of anyone but themselves, anyone else none.
 * removeMember enforces it; the farm page offers a Remove for exactly these.
 */
export function removableLinks(
  me: MemberManager,
  memberId: string,
  linkedAs: readonly LinkRole[],
): LinkRole[] {
  if (me.admin) return [...linkedAs];
  return me.owner && memberId !== me.userId ? linkedAs.filter((r) => r === 'technician') : [];
}

/**
 * An owner's own links are an admin's to make (review r1 F10): a farm owner holding the technician
 * role could otherwise link themselves as technician and write on the farm, undoing an admin who made
 * them read-only there. A 422 naming the field, so the page shows it beside the email.
 */
const selfLink = (pointer: string) =>
  new HttpError(422, 'invalid_request', `${pointer} names you: only an admin changes your own links`, {
    problems: [{ pointer, message: 'names you: only an admin changes your own links to this farm' }],
  });

const ownLinksAreAdmins = () => forbidden('only an admin changes your own links to this farm');

const noSuchUser = (pointer: string) =>
  new HttpError(422, 'invalid_request', `${pointer} names no active user who can join this farm`, {
    problems: [{ pointer, message: 'names no active farmer or technician who can join this farm' }],
  });

const ownersAddTechnicians = () => forbidden('farm owners add technicians only; an admin names owners');

const onlyFarmersOwn = () =>
  new HttpError(422, 'invalid_request', 'only farmers can own a farm', {
    problems: [{ pointer: '/is_owner', message: 'only a farmer can be an owner' }],
  });

const badLinkRole = (message: string) =>
  new HttpError(422, 'invalid_request', `linked_as: ${message}`, {
    problems: [{ pointer: '/linked_as', message }],
  });

/**
 * The role an admin's new link is made in: `linkedAs` when given (a role the user holds), farmer for
 * an owner, else the user's one role of farmer/technician — a user holding both must be told which.
 */
function adminLinkRole(roles: readonly string[], isOwner: boolean, linkedAs?: LinkRole): LinkRole {
  if (isOwner && linkedAs === 'technician') {
    throw new HttpError(422, 'invalid_request', 'an owner is linked as farmer', {
      problems: [
        {
          pointer: '/is_owner',
          message: 'only a farmer link owns the farm: leave out linked_as or make it "farmer"',
        },
      ],
    });
  }
  const role = linkedAs ?? (isOwner ? 'farmer' : undefined);
  if (role !== undefined) {
    if (!roles.includes(role)) throw badLinkRole(`this user does not hold the ${role} role`);
    return role;
  }
  const held = (['farmer', 'technician'] as const).filter((r) => roles.includes(r));
  if (held.length === 1) return held[0]!;
  throw badLinkRole('this user is both farmer and technician: say which role the link is made in');
}

/**
 * Adds (or updates) a member's link in one role. Admins link farmers (owners among them) and
 * technicians, in `linkedAs` (default: the user's role; required for a user holding both); a farm owner
 * links technicians only, always as technician. Returns false when the farm is not visible.
 */
export async function addMember(
  sql: Sql,
  principal: Principal,
  farmId: string,
  {
    userId,
    email,
    isOwner = false,
    linkedAs,
  }: { userId?: string; email?: string; isOwner?: boolean; linkedAs?: LinkRole },
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const me = await standing(tx, principal, farmId);
    if (me === undefined) return false;
    if (!me.admin && !me.owner) throw forbidden('only admins and the farm’s owners manage its members');
    if (!me.admin && (isOwner || linkedAs === 'farmer')) throw ownersAddTechnicians();
    const pointer = userId ? '/user_id' : '/email';
    const [target] = userId
      ? await tx<{ id: string }[]>`SELECT id FROM users WHERE id = ${userId}`
      : await tx<
          { id: string }[]
        >`SELECT id FROM users WHERE lower(email) = ${(email ?? '').trim().toLowerCase()}`;
    const roles = target ? await rolesOf(tx, target.id) : undefined;
    if (!target || !roles) throw noSuchUser(pointer);
    if (!me.admin && target.id === principal.userId) throw selfLink(pointer);
    const links = await linksOf(tx, farmId, target.id);
    if (!me.admin && !roles.includes('technician')) {
      // An owner sees the farm's members (and may be told why one cannot be re-added), but must not
      // learn who else has an account, nor its role: anyone else but an active technician is the same
      // 422 as an unknown address (registration and sign-in keep that secret too).
      if (links.size > 0) throw ownersAddTechnicians();
      throw noSuchUser(pointer);
    }
    if (!roles.includes('farmer') && !roles.includes('technician')) throw noSuchUser(pointer);
    if (isOwner && !roles.includes('farmer')) throw onlyFarmersOwn();
    const role = me.admin ? adminLinkRole(roles, isOwner, linkedAs) : 'technician';
    // Re-adding an owner's farmer link without is_owner demotes them (admins only: owners link technicians).
    if (links.get(role) === true && !isOwner) await refuseLastOwner(tx, farmId, target.id);
    await tx`
      INSERT INTO user_farms (user_id, farm_id, role, is_owner) VALUES (${target.id}, ${farmId}, ${role}, ${isOwner})
      ON CONFLICT (user_id, farm_id, role) DO UPDATE SET is_owner = excluded.is_owner`;
    return true;
  });
}

/**
 * Removes a member's links: `linkedAs` only that one (the pages always name it), else every link
 * (admins) or the technician link (owners) — who may remove which is removableLinks; never the last
 * active owner (409). false = no such link.
 */
export async function removeMember(
  sql: Sql,
  principal: Principal,
  farmId: string,
  memberId: string,
  linkedAs?: LinkRole,
): Promise<boolean> {
  // Compared with the principal's id as text below: an upper-case id is the same user (review r12 F5).
  const userId = memberId.toLowerCase();
  return sql.begin(async (tx) => {
    const me = await standing(tx, principal, farmId);
    if (me === undefined) return false;
    if (!me.admin && !me.owner) throw forbidden('only admins and the farm’s owners manage its members');
    const links = await linksOf(tx, farmId, userId);
    if (links.size === 0 || (linkedAs !== undefined && !links.has(linkedAs))) return false;
    if (!me.admin && userId === principal.userId) throw ownLinksAreAdmins();
    const allowed = removableLinks(me, userId, [...links.keys()]);
    const which = linkedAs ? [linkedAs] : allowed;
    if (which.length === 0 || !which.every((r) => allowed.includes(r))) {
      throw forbidden('farm owners remove technicians only');
    }
    if (which.some((r) => links.get(r))) await refuseLastOwner(tx, farmId, userId);
    await tx`DELETE FROM user_farms WHERE farm_id = ${farmId} AND user_id = ${userId} AND role = ANY(${which}::text[])`;
    return true;
  });
}

/** Admin: make a member's farmer link owner or not; never demote the last active owner (409). */
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
    const links = await linksOf(tx, farmId, userId);
    if (links.size === 0) return false;
    if (isOwner && !((await rolesOf(tx, userId)) ?? []).includes('farmer')) throw onlyFarmersOwn();
    if (isOwner && !links.has('farmer')) {
      throw new HttpError(422, 'invalid_request', 'this member is linked to the farm as technician only', {
        problems: [
          {
            pointer: '/is_owner',
            message:
              'only a farmer link owns the farm: link them as farmer first (POST …/members, "linked_as": "farmer")',
          },
        ],
      });
    }
    if (links.get('farmer') === true && !isOwner) await refuseLastOwner(tx, farmId, userId);
    await tx`
      UPDATE user_farms SET is_owner = ${isOwner} WHERE farm_id = ${farmId} AND user_id = ${userId} AND role = 'farmer'`;
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
