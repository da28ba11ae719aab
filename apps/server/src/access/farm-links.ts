import { HttpError } from '../errors.ts';
import { type Db, type Fragment, linkRoleHeld } from './farm-access.ts';

/** A farm link's role (user_farms.role, migration 0016): what the link lets its user do on the farm. */
export type LinkRole = 'farmer' | 'technician';
export const LINK_ROLES: readonly LinkRole[] = ['farmer', 'technician'];

/** One farm of a user, with the roles they are linked to it in (one entry even when linked in both). */
export type UserFarm = { id: string; name: string; is_owner: boolean; linked_as: LinkRole[] };

/**
 * The farms linked to `user` (an id or a column) as a JSON array of UserFarm, by farm name. `held`:
 * only links in a role the user holds now (what they can reach); without it every link (the admin's
 * view of what is stored).
 */
export function userFarmsJson(sql: Db, user: string | Fragment, { held = false } = {}): Fragment {
  const heldOnly = held ? sql`AND ${linkRoleHeld(sql)}` : sql``;
  return sql`
    (SELECT coalesce(json_agg(json_build_object('id', f.id, 'name', f.name, 'is_owner', l.is_owner,
                                                'linked_as', l.linked_as) ORDER BY f.name, f.id), '[]')
       FROM (SELECT uf.farm_id, bool_or(uf.is_owner) AS is_owner, array_agg(uf.role ORDER BY uf.role) AS linked_as
               FROM user_farms uf WHERE uf.user_id = ${user} ${heldOnly} GROUP BY uf.farm_id) l
       JOIN farms f ON f.id = l.farm_id)`;
}

/** A form's `linked_as` field: '' → undefined (the default role), else farmer or technician (422 otherwise). */
export function linkRoleField(value: string): LinkRole | undefined {
  if (value === '') return undefined;
  if ((LINK_ROLES as readonly string[]).includes(value)) return value as LinkRole;
  throw new HttpError(422, 'invalid_request', 'linked_as must be farmer or technician', {
    problems: [{ pointer: '/linked_as', message: 'must be "farmer" or "technician"' }],
  });
}

/**
 * A removal form's `linked_as`: the one link it removes, farmer or technician. Required — a form that
 * does not say which link is a 422 naming the field, never a removal of every link.
 */
export function linkToRemoveField(value: string): LinkRole {
  const role = linkRoleField(value);
  if (role !== undefined) return role;
  throw new HttpError(422, 'invalid_request', 'linked_as must say which link to remove', {
    problems: [{ pointer: '/linked_as', message: 'must say which link to remove: "farmer" or "technician"' }],
  });
}
