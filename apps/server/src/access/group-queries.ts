import type { Sql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';
import { and, type Db, type Fragment, farmRights, readableFarm, writableFarm } from './farm-access.ts';
import { checkJoiningAnimal, checkNewWindow } from './group-window.ts';

export type GroupInput = {
  farm_id?: string;
  name?: string;
  birth_date_from?: string | null;
  birth_date_to?: string | null;
};

export type GroupRow = {
  id: string;
  farm: { id: string; name: string };
  name: string;
  birth_date_from: string | null;
  birth_date_to: string | null;
  animals: {
    id: string;
    tag_id: string;
    eid: string | null;
    sex: string | null;
    birth_date: string | null;
    /** Born outside the group's window: data from before the window was enforced, to be fixed. */
    outside_window: boolean;
  }[];
  can_edit: boolean;
};

const columns = (sql: Db, principal: Principal) => sql`
  g.id, json_build_object('id', f.id, 'name', f.name) AS farm, g.name,
  to_char(g.birth_date_from, 'YYYY-MM-DD') AS birth_date_from, to_char(g.birth_date_to, 'YYYY-MM-DD') AS birth_date_to,
  (SELECT coalesce(json_agg(json_build_object('id', a.id, 'tag_id', a.tag_id, 'eid', a.eid, 'sex', a.sex,
            'birth_date', to_char(a.birth_date, 'YYYY-MM-DD'),
            'outside_window', coalesce(a.birth_date < g.birth_date_from OR a.birth_date > g.birth_date_to, false))
          ORDER BY a.tag_id, a.id), '[]')
     FROM contemporary_group_animals cga JOIN animals a ON a.id = cga.animal_id WHERE cga.group_id = g.id) AS animals,
  ${writableFarm(sql, principal, sql`g.farm_id`)} AS can_edit`;

export function listGroups(sql: Db, principal: Principal, farmId?: string) {
  const conds: Fragment[] = [readableFarm(sql, principal, sql`g.farm_id`)];
  if (farmId) conds.push(sql`g.farm_id = ${farmId}`);
  return sql<
    GroupRow[]
  >`SELECT ${columns(sql, principal)} FROM contemporary_groups g JOIN farms f ON f.id = g.farm_id
                          WHERE ${and(sql, conds)} ORDER BY f.name, g.name, g.id`;
}

export async function findGroup(sql: Db, principal: Principal, id: string): Promise<GroupRow | undefined> {
  const [row] = await sql<GroupRow[]>`
    SELECT ${columns(sql, principal)} FROM contemporary_groups g JOIN farms f ON f.id = g.farm_id
     WHERE g.id = ${id} AND ${readableFarm(sql, principal, sql`g.farm_id`)}`;
  return row;
}

const unprocessable = (pointer: string, message: string) =>
  new HttpError(422, 'invalid_request', `${pointer} ${message}`, { problems: [{ pointer, message }] });

function mapError(err: unknown): never {
  const code = (err as { code?: string }).code;
  if (code === '23505')
    throw new HttpError(409, 'conflict', 'this farm already has a group with that name', {
      problems: [{ pointer: '/name', message: 'is already used on this farm' }],
    });
  if (code === '23514') throw unprocessable('/birth_date_to', 'must not be before birth_date_from');
  throw err;
}

export async function createGroup(
  sql: Db,
  principal: Principal,
  input: GroupInput & { farm_id: string; name: string },
) {
  const rights = await farmRights(sql, principal, input.farm_id);
  if (rights === null) throw unprocessable('/farm_id', 'is not a farm you can see');
  if (!rights.writable) throw forbidden('you may not add groups to this farm');
  try {
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO contemporary_groups (farm_id, name, birth_date_from, birth_date_to)
      VALUES (${input.farm_id}, ${input.name.trim()}, ${input.birth_date_from ?? null}, ${input.birth_date_to ?? null}) RETURNING id`;
    return row!.id;
  } catch (err) {
    mapError(err);
  }
}

/** The group's writability and window, or undefined when not visible; `lock`: the row FOR UPDATE. */
async function groupRights(sql: Db, principal: Principal, id: string, { lock = false } = {}) {
  const [row] = await sql<{ farm_id: string; writable: boolean; from: string | null; to: string | null }[]>`
    SELECT g.farm_id, ${writableFarm(sql, principal, sql`g.farm_id`)} AS writable,
           to_char(g.birth_date_from, 'YYYY-MM-DD') AS from, to_char(g.birth_date_to, 'YYYY-MM-DD') AS to
      FROM contemporary_groups g WHERE g.id = ${id} AND ${readableFarm(sql, principal, sql`g.farm_id`)}
      ${lock ? sql`FOR UPDATE OF g` : sql``}`;
  if (row && !row.writable) throw forbidden('you may not change groups of this farm');
  return row;
}

/**
 * Renames a group or changes its window; a window change that would leave out a current member is
 * refused (422 naming the bound and the animals), checked against the stored window and written with
 * the group row locked. A window sent unchanged (the page form re-sends it) is not checked.
 */
export async function updateGroup(
  sql: Sql,
  principal: Principal,
  id: string,
  input: GroupInput,
): Promise<boolean> {
  try {
    return await sql.begin(async (tx) => {
      const group = await groupRights(tx, principal, id, { lock: true });
      if (!group) return false;
      const from = 'birth_date_from' in input ? (input.birth_date_from ?? null) : group.from;
      const to = 'birth_date_to' in input ? (input.birth_date_to ?? null) : group.to;
      if (from !== null && to !== null && to < from)
        throw unprocessable('/birth_date_to', 'must not be before birth_date_from');
      await checkNewWindow(tx, id, group, { from, to });
      await tx`
        UPDATE contemporary_groups g SET
          name = ${input.name === undefined ? tx`g.name` : input.name.trim()},
          birth_date_from = ${from}, birth_date_to = ${to}, updated_at = now()
        WHERE g.id = ${id}`;
      return true;
    });
  } catch (err) {
    mapError(err);
  }
}

export async function deleteGroup(sql: Db, principal: Principal, id: string): Promise<boolean> {
  if (!(await groupRights(sql, principal, id))) return false;
  await sql`DELETE FROM contemporary_groups WHERE id = ${id}`;
  return true;
}

/**
 * Adds an animal: it must be an animal of the group's farm, born inside the group's window when both
 * are known (an unknown birth date is accepted; filling it in later is checked by updateAnimal).
 * Checked and written in one transaction, the animal row then the group row locked (group-window.ts).
 * false = group not visible.
 */
export async function addGroupAnimal(
  sql: Sql,
  principal: Principal,
  id: string,
  animalId: string,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    if (!(await groupRights(tx, principal, id))) return false;
    const [animal] = await tx<{ farm_id: string; birth_date: string | null }[]>`
      SELECT a.farm_id, to_char(a.birth_date, 'YYYY-MM-DD') AS birth_date FROM animals a
       WHERE a.id = ${animalId} AND ${readableFarm(tx, principal, tx`a.farm_id`)} FOR SHARE OF a`;
    if (!animal) throw unprocessable('/animal_id', 'is not an animal you can see');
    const group = await groupRights(tx, principal, id, { lock: true });
    if (!group) return false;
    if (animal.farm_id !== group.farm_id)
      throw unprocessable('/animal_id', "is on another farm than the group's");
    checkJoiningAnimal(animal.birth_date, group);
    await tx`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${id}, ${animalId}) ON CONFLICT DO NOTHING`;
    return true;
  });
}

export async function removeGroupAnimal(
  sql: Db,
  principal: Principal,
  id: string,
  animalId: string,
): Promise<boolean> {
  if (!(await groupRights(sql, principal, id))) return false;
  const rows =
    await sql`DELETE FROM contemporary_group_animals WHERE group_id = ${id} AND animal_id = ${animalId}`;
  return rows.count > 0;
}
