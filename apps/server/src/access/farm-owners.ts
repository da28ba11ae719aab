import type { Db } from './farm-access.ts';

/**
 * The one last-owner rule: every farm keeps an owner who can sign in. Returns the names of the farms
 * `userId` owns (only `farmId`, when given) that no OTHER active user owns — farms the user may not stop
 * owning (be demoted, removed, disabled or lose the farmer role); a disabled co-owner does not count.
 * The farm rows are locked first, in id order, so two changes to one farm's owners (membership edits,
 * an admin disabling a co-owner) are serialised and the rule cannot be raced. Call inside a transaction.
 *
 * @example
 * if ((await farmsOnlyOwnedBy(tx, memberId, farmId)).length > 0) throw lastOwner();
 */
export async function farmsOnlyOwnedBy(tx: Db, userId: string, farmId?: string): Promise<string[]> {
  const which = farmId === undefined ? tx`` : tx`AND uf.farm_id = ${farmId}`;
  await tx`
    SELECT 1 FROM farms f
     WHERE f.id IN (SELECT uf.farm_id FROM user_farms uf WHERE uf.user_id = ${userId} AND uf.is_owner ${which})
     ORDER BY f.id FOR UPDATE`;
  const rows = await tx<{ name: string }[]>`
    SELECT f.name FROM user_farms uf JOIN farms f ON f.id = uf.farm_id
     WHERE uf.user_id = ${userId} AND uf.is_owner ${which}
       AND NOT EXISTS (SELECT 1 FROM user_farms o JOIN users ou ON ou.id = o.user_id
                        WHERE o.farm_id = uf.farm_id AND o.is_owner AND o.user_id <> ${userId}
                          AND ou.status = 'active')
     ORDER BY f.name`;
  return rows.map((r) => r.name);
}
