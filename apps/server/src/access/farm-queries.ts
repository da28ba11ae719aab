import type { Sql } from 'postgres';
import { isAdmin, type Principal } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';
import { type Db, farmRights, readableFarm, writableFarm } from './farm-access.ts';
import { validateCentroid, validateGeofence } from './geofence.ts';
import { LAND_TAKEN_NOISE_M2, landTakenM2, snappedFence } from './geofence-overlaps.ts';
import { isoUtc } from './sql-fragments.ts';

export type FarmRow = {
  id: string;
  name: string;
  geofence: unknown | null;
  centroid: { lat: number; lon: number } | null;
  created_at: string | null;
  updated_at: string | null;
  can_edit: boolean;
};

export type FarmInput = { name?: string; geofence?: unknown | null; centroid?: unknown | null };

const columns = (sql: Db, principal: Principal) => sql`
  f.id, f.name, ST_AsGeoJSON(f.geofence)::json AS geofence,
  CASE WHEN f.centroid IS NULL THEN NULL ELSE json_build_object('lat', ST_Y(f.centroid), 'lon', ST_X(f.centroid)) END AS centroid,
  ${isoUtc(sql, sql`f.created_at`)} AS created_at, ${isoUtc(sql, sql`f.updated_at`)} AS updated_at,
  ${writableFarm(sql, principal, sql`f.id`)} AS can_edit`;

/** Farms the principal may see, by name. */
export function listFarms(sql: Db, principal: Principal) {
  return sql<FarmRow[]>`SELECT ${columns(sql, principal)} FROM farms f
                         WHERE ${readableFarm(sql, principal, sql`f.id`)} ORDER BY f.name, f.id`;
}

export async function findFarm(sql: Db, principal: Principal, id: string): Promise<FarmRow | undefined> {
  const [row] = await sql<FarmRow[]>`SELECT ${columns(sql, principal)} FROM farms f
                                      WHERE f.id = ${id} AND ${readableFarm(sql, principal, sql`f.id`)}`;
  return row;
}

/** Validated geometry texts; the centroid follows the geofence unless given. */
async function geometry(sql: Db, input: FarmInput) {
  const geofence =
    input.geofence === undefined || input.geofence === null
      ? input.geofence
      : await validateGeofence(sql, input.geofence);
  const centroid =
    input.centroid === undefined || input.centroid === null
      ? input.centroid
      : validateCentroid(input.centroid);
  return { geofence, centroid };
}

const geom = (sql: Db, text: string | null) =>
  text === null ? sql`NULL` : sql`ST_SetSRID(ST_GeomFromGeoJSON(${text}), 4326)`;

/**
 * A new farm; its id. With `id` (a page form's one-time token, web/pages/create-token.ts) a farm that
 * already has that id is left as it is and its id returned: the same form sent twice makes one farm.
 */
export async function createFarm(
  sql: Db,
  input: Required<Pick<FarmInput, 'name'>> & FarmInput,
  id?: string,
): Promise<string> {
  const g = await geometry(sql, input);
  const centroid =
    g.centroid !== undefined && g.centroid !== null
      ? geom(sql, g.centroid)
      : g.geofence
        ? sql`ST_Centroid(${geom(sql, g.geofence)})`
        : sql`NULL`;
  const [row] = await sql<{ id: string }[]>`
    INSERT INTO farms (id, name, geofence, centroid)
    VALUES (${id ?? sql`gen_random_uuid()`}, ${input.name.trim()}, ${geom(sql, g.geofence ?? null)}, ${centroid})
    ${id === undefined ? sql`` : sql`ON CONFLICT (id) DO NOTHING`} RETURNING id`;
  return row?.id ?? id!;
}

/** Name, geofence, centroid of a farm: 404-able (false) when not visible, 403 when visible but not writable. */
export async function updateFarm(
  sql: Db,
  principal: Principal,
  id: string,
  input: FarmInput,
): Promise<boolean> {
  const rights = await farmRights(sql, principal, id);
  if (rights === null) return false;
  if (!rights.writable) throw forbidden('you may not change this farm');
  const g = await geometry(sql, input);
  // A new centroid when given, else the new geofence's; removing the geofence keeps the old point.
  const centroid =
    g.centroid !== undefined
      ? geom(sql, g.centroid)
      : g.geofence
        ? sql`ST_Centroid(${geom(sql, g.geofence)})`
        : sql`centroid`;
  // A non-admin's fence is stored snapped to the stored one (geofence-overlaps.ts): a round trip changes
  // nothing, and the overlap check measures exactly what is written.
  const newFence = (tx: Db, fence: string | null) =>
    fence !== null && !isAdmin(principal)
      ? snappedFence(tx, geom(tx, fence), tx`(SELECT geofence FROM farms WHERE id = ${id})`)
      : geom(tx, fence);
  const write = (tx: Db) => tx`
    UPDATE farms SET name = ${input.name === undefined ? sql`name` : input.name.trim()},
                     geofence = ${g.geofence === undefined ? sql`geofence` : newFence(tx, g.geofence)},
                     centroid = ${centroid}, updated_at = now()
     WHERE id = ${id}`;
  if (typeof g.geofence !== 'string') {
    await write(sql);
    return true;
  }
  const fence = g.geofence;
  await inTransaction(sql, async (tx) => {
    await lockGeofences(tx);
    if (!isAdmin(principal)) await refuseOverlap(tx, principal, id, fence);
    await write(tx);
  });
  return true;
}

/**
 * Geofence edits are serialised: SHARE ROW EXCLUSIVE conflicts with itself and with every row write on
 * farms, so the overlap check below sees every fence committed before it and none can be written
 * between the check and our UPDATE. Reads (ingest attribution, lists) and FK checks from scans are
 * not blocked; the lock lasts one short transaction.
 */
const lockGeofences = (tx: Db) => tx`LOCK TABLE farms IN SHARE ROW EXCLUSIVE MODE`;

const inTransaction = <T>(sql: Db, fn: (tx: Db) => Promise<T>): Promise<T> =>
  'savepoint' in sql ? fn(sql) : (sql.begin(fn) as Promise<T>);

/**
 * A non-admin's geofence must not cover land inside another farm's geofence that their stored fence did
 * not already cover: ingest attributes a point by the geofence containing it (ADR 0001 §5), so an
 * overlapping fence would take the other farm's scans. Fences that only touch (a shared boundary) are
 * fine; an overlap an admin drew may be kept or shrunk, not grown. The new fence is first snapped to the
 * stored one (geofence-overlaps.ts), so a fence re-sent as GET or the page rendered it (9 decimals) or as
 * the map editor wrote it (7) is the same fence, and growth is then measured exactly. The 422 names only the farms the caller may
 * see; the others are counted, never named.
 */
async function refuseOverlap(tx: Db, principal: Principal, id: string, fence: string) {
  const others = await tx<{ name: string; visible: boolean }[]>`
    SELECT o.name, ${readableFarm(tx, principal, tx`o.id`)} AS visible
      FROM farms o, (SELECT ${snappedFence(tx, geom(tx, fence), tx`geofence`)} AS new, geofence AS old
                       FROM farms WHERE id = ${id}) me
     WHERE o.id <> ${id} AND o.geofence IS NOT NULL AND ST_Intersects(o.geofence, me.new)
       AND ${landTakenM2(tx, tx`o.geofence`, tx`me.new`, tx`me.old`)} > ${LAND_TAKEN_NOISE_M2}
     ORDER BY o.name, o.id`;
  if (others.length === 0) return;
  const named = others.filter((o) => o.visible).map((o) => `"${o.name}"`);
  const hidden = others.length - named.length;
  const whose = [
    ...named,
    ...(hidden === 0 ? [] : [hidden === 1 ? 'another farm' : `${hidden} other farms`]),
  ].join(', ');
  const message = `overlaps the geofence of ${whose}: a scan taken there would go to one farm or the other, so only an admin may draw overlapping geofences; keep this farm's fence inside its own land`;
  throw new HttpError(422, 'geofence_overlap', `/geofence ${message}`, {
    problems: [{ pointer: '/geofence', message }],
  });
}

/** Deletes a farm nothing refers to; 409 `farm_in_use` otherwise (spec §6: no accidental data loss). */
export async function deleteFarm(sql: Sql, id: string): Promise<boolean> {
  try {
    return await sql.begin(async (tx) => {
      await tx`DELETE FROM user_farms WHERE farm_id = ${id}`;
      const rows = await tx`DELETE FROM farms WHERE id = ${id}`;
      return rows.count > 0;
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23503') {
      throw new HttpError(
        409,
        'farm_in_use',
        'the farm still has scans, animals, groups or devices; move or delete them first',
      );
    }
    throw err;
  }
}
