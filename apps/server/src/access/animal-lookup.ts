import { EID_LINE_PATTERN, parseEidLine } from '@cti/contracts';
import type { Principal } from '../auth/principal.ts';
import { normalizeTypedName } from '../text/typed-name.ts';
import { canonicalUuid } from '../text/uuid.ts';
import { and, type Db, type Fragment, readableFarm } from './farm-access.ts';

// The dashboard's Animal fields (the scan's "Farm and animal" form, the scans filter) name an animal as
// people know it — its ear tag or its EID, typed or pasted from a reader — instead of offering a select
// of a whole herd. These queries resolve that text and list a small herd's tags as suggestions; both
// stay cheap on farms of thousands and for admins over hundreds of farms.

/**
 * What typed text can name: the ear tag (always, as typed and in any case); an EID — `eid` when the
 * whole text is one, `lineEid` when it is a reader's line holding one (`LA 982 000123456789 FDX-B`);
 * an animal's id (a uuid).
 */
export type AnimalName = { tag: string; eid?: string; lineEid?: string; id?: string };

/** The text is an EID and nothing else: @cti/contracts' reader-line pattern, anchored. */
const EID_ALONE = new RegExp(`^${EID_LINE_PATTERN}$`);

/**
 * The ways `text` may name an animal: its ear tag as stored (NFC, trimmed), its EID — 15 digits
 * (`982 000123456789` as a reader prints it is `982000123456789`), alone or read out of a pasted
 * reader line by @cti/contracts' parseEidLine, the agent's default — its id (a uuid, any case: the
 * scans list's `animal_id=` links; a uuid is never read as a reader line).
 *
 * @example animalNameOf(' 982 000123456789 ') // { tag: '982 000123456789', eid: '982000123456789' }
 * @example animalNameOf('LA 982 000123456789') // { tag: 'LA 982 000123456789', lineEid: '982000123456789' }
 */
export function animalNameOf(text: string): AnimalName {
  const tag = normalizeTypedName(text);
  const id = canonicalUuid(tag);
  const eid = parseEidLine(tag, EID_ALONE);
  const lineEid = eid || id ? null : parseEidLine(tag);
  return { tag, ...(eid ? { eid } : {}), ...(lineEid ? { lineEid } : {}), ...(id ? { id } : {}) };
}

export type AnimalMatch = {
  id: string;
  tag_id: string;
  eid: string | null;
  farm: { id: string; name: string };
  /**
   * What the text matched: the animal's id, its EID (the whole text), its ear tag exactly, its ear tag
   * when case is ignored (only on a farm without the exact tag), or the EID in a reader's line.
   */
  by: 'id' | 'eid' | 'tag' | 'tag_any_case' | 'line_eid';
};

/**
 * The animals the caller may see that `name` names, on `farmId` or on any farm they may read, by
 * farm name. One statement whose every branch is an index lookup: the id by the primary key, the EID
 * by idx_animals_eid, the tag by idx_animals_farm_tag_lower (farm_id, lower(tag_id)) probed once per
 * readable farm (a LATERAL with LIMIT 2, so the planner cannot turn it into a scan of every animal:
 * there is no index on the tag alone). A farm gives its animal with the exact tag first ('tag'),
 * and one more whose tag differs only in case ('tag_any_case': `A-101` for `a-101`); on a farm
 * without the exact tag, two of those say the text is ambiguous there. lower() is Postgres's, on NFC
 * text (the database's collation: C.UTF-8 lowers any script). An animal the caller may not see is not
 * among the matches, exactly like one that does not exist.
 *
 * @example const [only, other] = await findAnimalsNamed(sql, principal, animalNameOf('1150'), { farmId });
 */
export async function findAnimalsNamed(
  sql: Db,
  principal: Principal,
  name: AnimalName,
  { farmId }: { farmId?: string } = {},
): Promise<AnimalMatch[]> {
  const onFarm = (column: Fragment) =>
    and(sql, [readableFarm(sql, principal, column), ...(farmId ? [sql`${column} = ${farmId}`] : [])]);
  const branches: Fragment[] = [
    sql`SELECT t.id, t.by FROM farms f CROSS JOIN LATERAL (
          SELECT a.id, CASE WHEN a.tag_id = ${name.tag} THEN 'tag' ELSE 'tag_any_case' END AS by
            FROM animals a WHERE a.farm_id = f.id AND lower(a.tag_id) = lower(${name.tag})
           ORDER BY a.tag_id = ${name.tag} DESC LIMIT 2) t
         WHERE ${onFarm(sql`f.id`)}`,
  ];
  const eid = name.eid ?? name.lineEid;
  const eidBy = name.eid ? 'eid' : 'line_eid';
  if (eid) branches.push(sql`SELECT a.id, ${eidBy}::text AS by FROM animals a WHERE a.eid = ${eid}`);
  if (name.id) branches.push(sql`SELECT a.id, 'id' AS by FROM animals a WHERE a.id = ${name.id}`);
  const union = branches.reduce((acc, b) => sql`${acc} UNION ALL ${b}`);
  return sql<AnimalMatch[]>`
    SELECT a.id, a.tag_id, a.eid, json_build_object('id', f.id, 'name', f.name) AS farm, m.by
      FROM (${union}) m JOIN animals a ON a.id = m.id JOIN farms f ON f.id = a.farm_id
     WHERE ${onFarm(sql`a.farm_id`)}
     ORDER BY f.name, f.id, m.by, a.tag_id`;
}

export type AnimalSuggestion = { id: string; tag_id: string; eid: string | null; farm_name: string };

/**
 * The animals of `farmId` (else of every farm the caller may read), by tag, when there are at most
 * `limit`; more than `limit` → `null` (too many to offer: the field is typed). Reads at most `limit + 1`
 * animals through UNIQUE (farm_id, tag_id), farm by farm, whatever the size of the herds.
 *
 * @example const tags = await animalSuggestions(sql, principal, { farmId, limit: 200 }); // null: > 200
 */
export async function animalSuggestions(
  sql: Db,
  principal: Principal,
  { farmId, limit }: { farmId?: string; limit: number },
): Promise<AnimalSuggestion[] | null> {
  const farms = and(sql, [
    readableFarm(sql, principal, sql`f.id`),
    ...(farmId ? [sql`f.id = ${farmId}`] : []),
  ]);
  const rows = await sql<AnimalSuggestion[]>`
    SELECT * FROM (
      SELECT a.id, a.tag_id, a.eid, f.name AS farm_name FROM farms f CROSS JOIN LATERAL (
        SELECT a.id, a.tag_id, a.eid FROM animals a WHERE a.farm_id = f.id LIMIT ${limit + 1}) a
       WHERE ${farms} LIMIT ${limit + 1}) s
     ORDER BY s.tag_id, s.farm_name, s.id`;
  return rows.length > limit ? null : rows;
}
