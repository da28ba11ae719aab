import { parseEidLine } from '@cti/contracts';
import type { Sql } from 'postgres';
import type { Principal } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';
import { normalizeTypedName } from '../text/typed-name.ts';
import {
  and,
  type Db,
  type Fragment,
  readableFarm,
  requireWritableFarm,
  writableFarm,
} from './farm-access.ts';
import { checkBirthDateInGroups } from './group-window.ts';
import { isoUtc } from './sql-fragments.ts';

export type AnimalInput = {
  farm_id?: string;
  tag_id?: string;
  eid?: string | null;
  breed?: string | null;
  sex?: string | null;
  birth_date?: string | null;
};

export type AnimalRow = {
  id: string;
  farm: { id: string; name: string };
  tag_id: string;
  eid: string | null;
  breed: string | null;
  sex: string | null;
  birth_date: string | null;
  created_at: string | null;
  groups: { id: string; name: string }[];
  scan_count: number;
  can_edit: boolean;
};

const columns = (sql: Db, principal: Principal) => sql`
  a.id, json_build_object('id', f.id, 'name', f.name) AS farm, a.tag_id, a.eid, a.breed, a.sex,
  to_char(a.birth_date, 'YYYY-MM-DD') AS birth_date, ${isoUtc(sql, sql`a.created_at`)} AS created_at,
  (SELECT coalesce(json_agg(json_build_object('id', g.id, 'name', g.name) ORDER BY g.name), '[]')
     FROM contemporary_group_animals cga JOIN contemporary_groups g ON g.id = cga.group_id WHERE cga.animal_id = a.id) AS groups,
  (SELECT count(*)::int FROM scans s WHERE s.animal_id = a.id AND ${readableFarm(sql, principal, sql`s.farm_id`)}) AS scan_count,
  ${writableFarm(sql, principal, sql`a.farm_id`)} AS can_edit`;

export type AnimalListFilters = {
  farm_id?: string;
  group_id?: string;
  q?: string;
  after?: { tag: string; id: string };
  limit: number;
};

/** Animals the caller may see, by tag (keyset on tag_id, id). */
export function listAnimals(sql: Db, principal: Principal, f: AnimalListFilters) {
  const conds: Fragment[] = [readableFarm(sql, principal, sql`a.farm_id`)];
  if (f.farm_id) conds.push(sql`a.farm_id = ${f.farm_id}`);
  if (f.group_id)
    conds.push(
      sql`a.id IN (SELECT animal_id FROM contemporary_group_animals WHERE group_id = ${f.group_id})`,
    );
  // Stored tags are NFC-normalised and trimmed (shortText): the prefix is too (review r12 F10). The
  // prefix matches in any case (ILIKE), as the Animal field's tag does when no tag is exact; the EID
  // as the Animal field reads it: alone (`982 000123456789`) or in a pasted reader line.
  const q = f.q === undefined ? '' : normalizeTypedName(f.q);
  const eid = q ? parseEidLine(q) : null;
  const byEid = eid ? sql` OR a.eid = ${eid}` : sql``;
  if (q) conds.push(sql`(a.tag_id ILIKE ${`${q.replace(/[\\%_]/g, '\\$&')}%`}${byEid})`);
  if (f.after) conds.push(sql`(a.tag_id, a.id) > (${f.after.tag}, ${f.after.id}::uuid)`);
  return sql<AnimalRow[]>`
    SELECT ${columns(sql, principal)} FROM animals a JOIN farms f ON f.id = a.farm_id
     WHERE ${and(sql, conds)} ORDER BY a.tag_id, a.id LIMIT ${f.limit}`;
}

export async function findAnimal(sql: Db, principal: Principal, id: string): Promise<AnimalRow | undefined> {
  const [row] = await sql<AnimalRow[]>`
    SELECT ${columns(sql, principal)} FROM animals a JOIN farms f ON f.id = a.farm_id
     WHERE a.id = ${id} AND ${readableFarm(sql, principal, sql`a.farm_id`)}`;
  return row;
}

const problem = (status: 409 | 422, code: string, pointer: string, message: string) =>
  new HttpError(status, code, `${pointer} ${message}`, { problems: [{ pointer, message }] });

/** Unique violations as 409 naming the field: tag_id is unique per farm, the EID everywhere. */
function conflict(err: unknown): never {
  const e = err as { code?: string; constraint_name?: string };
  if (e.code === '23505' && e.constraint_name === 'idx_animals_eid') {
    throw problem(409, 'conflict', '/eid', 'is already the EID of another animal');
  }
  if (e.code === '23505')
    throw problem(409, 'conflict', '/tag_id', 'is already used by another animal of this farm');
  throw err;
}

/** The earliest birth date an animal on a farm can have: nothing scanned today was born before. */
const FIRST_BIRTH_DATE = '1950-01-01';

/**
 * A birth date is a day from FIRST_BIRTH_DATE to today (today where the clock is furthest ahead: UTC+14),
 * else 422 naming /birth_date: a typo (0001-01-01, 2205-03-01) would put the animal in no contemporary
 * group's window and skew age-based reports rather than be noticed.
 */
function checkBirthDate(day: string | null | undefined, now = new Date()): void {
  if (day === null || day === undefined) return;
  const latest = new Date(now.getTime() + 14 * 3_600_000).toISOString().slice(0, 10);
  if (day < FIRST_BIRTH_DATE || day > latest) {
    throw problem(422, 'invalid_request', '/birth_date', `must be a day from ${FIRST_BIRTH_DATE} to today`);
  }
}

/** An animal's farm (created on, or moved to) must be one the caller writes (requireWritableFarm). */
const ANIMAL_FARM_REFUSAL = 'you may not change animals of that farm';

export async function createAnimal(
  sql: Db,
  principal: Principal,
  input: AnimalInput & { farm_id: string; tag_id: string },
) {
  checkBirthDate(input.birth_date);
  await requireWritableFarm(sql, principal, input.farm_id, ANIMAL_FARM_REFUSAL);
  try {
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO animals (farm_id, tag_id, eid, breed, sex, birth_date)
      VALUES (${input.farm_id}, ${input.tag_id.trim()}, ${input.eid ?? null}, ${input.breed ?? null}, ${input.sex ?? null},
              ${input.birth_date ?? null})
      RETURNING id`;
    return row!.id;
  } catch (err) {
    conflict(err);
  }
}

/**
 * Changes an animal. Moving it to another farm needs write rights on BOTH farms (the defect of the
 * closest existing system: a farmer could move another farm's animal through an update); it leaves the
 * old farm's groups, and its scans stay where they were taken. false = not visible (404).
 */
export async function updateAnimal(
  sql: Sql,
  principal: Principal,
  id: string,
  input: AnimalInput,
): Promise<boolean> {
  checkBirthDate(input.birth_date);
  return sql.begin(async (tx) => {
    const [animal] = await tx<{ farm_id: string; writable: boolean; birth_date: string | null }[]>`
      SELECT a.farm_id, ${writableFarm(tx, principal, tx`a.farm_id`)} AS writable,
             to_char(a.birth_date, 'YYYY-MM-DD') AS birth_date
        FROM animals a WHERE a.id = ${id} AND ${readableFarm(tx, principal, tx`a.farm_id`)} FOR UPDATE OF a`;
    if (!animal) return false;
    if (!animal.writable) throw forbidden('you may not change animals of this farm');
    const moving = input.farm_id !== undefined && input.farm_id !== animal.farm_id;
    if (moving) await requireWritableFarm(tx, principal, input.farm_id!, ANIMAL_FARM_REFUSAL);
    const keep = <K extends keyof AnimalInput>(k: K, column: Fragment) =>
      k in input ? (input[k] ?? null) : column;
    try {
      await tx`
        UPDATE animals a SET farm_id = ${input.farm_id ?? animal.farm_id},
          tag_id = ${input.tag_id === undefined ? tx`a.tag_id` : input.tag_id.trim()},
          eid = ${keep('eid', tx`a.eid`) as never}, breed = ${keep('breed', tx`a.breed`) as never},
          sex = ${keep('sex', tx`a.sex`) as never}, birth_date = ${keep('birth_date', tx`a.birth_date`) as never}
        WHERE a.id = ${id}`;
    } catch (err) {
      conflict(err);
    }
    if (moving) {
      await tx`DELETE FROM contemporary_group_animals cga USING contemporary_groups g
                WHERE cga.animal_id = ${id} AND g.id = cga.group_id AND g.farm_id <> ${input.farm_id!}`;
    }
    // A birth date changed (or filled in) must stay inside the windows of the animal's groups; the
    // stored date re-sent (the animal page sends every field) is no change and is not judged again.
    const born = input.birth_date ?? null;
    if ('birth_date' in input && born !== animal.birth_date) await checkBirthDateInGroups(tx, id, born);
    return true;
  });
}

/** Deletes an animal no scan refers to (409 `animal_has_scans` otherwise); false = not visible. */
export async function deleteAnimal(sql: Sql, principal: Principal, id: string): Promise<boolean> {
  const [animal] = await sql<{ writable: boolean }[]>`
    SELECT ${writableFarm(sql, principal, sql`a.farm_id`)} AS writable FROM animals a
     WHERE a.id = ${id} AND ${readableFarm(sql, principal, sql`a.farm_id`)}`;
  if (!animal) return false;
  if (!animal.writable) throw forbidden('you may not delete animals of this farm');
  try {
    await sql.begin(async (tx) => {
      await tx`DELETE FROM contemporary_group_animals WHERE animal_id = ${id}`;
      await tx`DELETE FROM animals WHERE id = ${id}`;
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23503') {
      throw new HttpError(409, 'animal_has_scans', 'scans are linked to this animal; unlink them first');
    }
    throw err;
  }
  return true;
}
