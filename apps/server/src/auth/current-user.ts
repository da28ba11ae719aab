import type { Sql } from 'postgres';
import type { Principal } from './principal.ts';

export type CurrentUser = {
  id: string;
  email: string;
  full_name: string | null;
  roles: string[];
  farms: { id: string; name: string; is_owner: boolean }[];
};

/** The signed-in user's profile: roles and the farms linked to them (owner or member). */
export async function loadCurrentUser(sql: Sql, principal: Principal): Promise<CurrentUser> {
  const farms = await sql<{ id: string; name: string; is_owner: boolean }[]>`
    SELECT f.id, f.name, uf.is_owner FROM user_farms uf JOIN farms f ON f.id = uf.farm_id
     WHERE uf.user_id = ${principal.userId} ORDER BY f.name, f.id`;
  return {
    id: principal.userId,
    email: principal.email,
    full_name: principal.fullName,
    roles: principal.roles,
    farms: [...farms],
  };
}
