import type { Sql } from 'postgres';
import { type UserFarm, userFarmsJson } from '../access/farm-links.ts';
import type { Principal } from './principal.ts';

export type CurrentUser = {
  id: string;
  email: string;
  full_name: string | null;
  roles: string[];
  farms: UserFarm[];
};

/**
 * The signed-in user's profile: roles and the farms they reach — linked to them in a role they hold,
 * with those roles (`linked_as`) and whether they own it.
 */
export async function loadCurrentUser(sql: Sql, principal: Principal): Promise<CurrentUser> {
  const [row] = await sql<{ farms: UserFarm[] }[]>`
    SELECT ${userFarmsJson(sql, principal.userId, { held: true })} AS farms`;
  return {
    id: principal.userId,
    email: principal.email,
    full_name: principal.fullName,
    roles: principal.roles,
    farms: row?.farms ?? [],
  };
}
