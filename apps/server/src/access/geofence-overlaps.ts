import type { Db, Fragment } from './farm-access.ts';

/**
 * How far (in degrees, about 1 cm of latitude) a re-sent fence's vertex may lie from the stored fence and
 * still be the same vertex. Coordinates come back rounded: ST_AsGeoJSON (GET /farms/{id}, the farm page)
 * writes 9 decimals (a vertex moves up to 5e-10° per axis), the map editor 7 (5e-8°); both stay well
 * inside it. A non-admin's fence is snapped to the stored one with it (snappedFence) and what is stored is
 * the snapped fence, so a round trip stores the fence unchanged and a vertex moved by less than this does
 * not move at all — nothing can creep into a neighbour a centimetre per save (review r6 F1).
 */
export const FENCE_SLACK_DEG = 1e-7;

/**
 * Overlap area (m², on the WGS 84 spheroid) below which two fences do not overlap: floating-point
 * noise of the intersection of fences that share a boundary, which is far below a square metre.
 */
export const OVERLAP_NOISE_M2 = 1;

/**
 * Land (m²) a snapped fence may add inside another farm's fence and still count as none: floating-point
 * noise of exact geometry, far below any grab (a 1 m step along a 1 m edge is 1 m²).
 */
export const LAND_TAKEN_NOISE_M2 = 0.01;

/** The geography area (m²) of the polygons of a geometry; 0 for lines, points, empty or NULL. */
const areaM2 = (sql: Db, g: Fragment) => sql`COALESCE(ST_Area(ST_CollectionExtract(${g}, 3)::geography), 0)`;

/**
 * `next` with its vertices within FENCE_SLACK_DEG of the stored fence `prev` moved onto it (ST_Snap); `next`
 * as it is when there is no stored fence or snapping would make it invalid (then it is measured exactly).
 */
export function snappedFence(sql: Db, next: Fragment, prev: Fragment): Fragment {
  return sql`(SELECT CASE WHEN s IS NOT NULL AND ST_IsValid(s) AND GeometryType(s) = 'POLYGON' THEN s ELSE n END
                FROM (SELECT ${next} AS n) a,
                     LATERAL (SELECT ST_Snap(a.n, ${prev}, ${FENCE_SLACK_DEG}) AS s) b)`;
}

/**
 * Land inside `other` that the (snapped) fence `next` covers and the stored fence `prev` (nullable) did
 * not, in m², measured exactly.
 */
export function landTakenM2(sql: Db, other: Fragment, next: Fragment, prev: Fragment): Fragment {
  return areaM2(
    sql,
    sql`ST_Difference(ST_Intersection(${other}, ${next}), COALESCE(${prev}, 'SRID=4326;POLYGON EMPTY'::geometry))`,
  );
}

export type FenceOverlap = {
  a: { id: string; name: string };
  b: { id: string; name: string };
  /** Overlap area in m². */
  area_m2: number;
  /** The smaller fence lies wholly inside the other (a nested paddock). */
  nested: boolean;
};

/**
 * Every pair of farms whose geofences overlap by more than OVERLAP_NOISE_M2 (fences that only share a
 * boundary are not listed), largest overlap first: since review r1 F12 a scan taken in such an overlap
 * gets no farm and is flagged to admins (ADR 0001 §5), so an admin reviews these before and after an
 * upgrade. `cti-server farm overlaps` prints them.
 */
export function listFenceOverlaps(sql: Db) {
  return sql<FenceOverlap[]>`
    SELECT json_build_object('id', a.id, 'name', a.name) AS a, json_build_object('id', b.id, 'name', b.name) AS b,
           x.area_m2, (ST_Within(a.geofence, b.geofence) OR ST_Within(b.geofence, a.geofence)) AS nested
      FROM farms a JOIN farms b ON a.id < b.id AND ST_Intersects(a.geofence, b.geofence)
     CROSS JOIN LATERAL (SELECT ${areaM2(sql, sql`ST_Intersection(a.geofence, b.geofence)`)} AS area_m2) x
     WHERE x.area_m2 > ${OVERLAP_NOISE_M2}
     ORDER BY x.area_m2 DESC, a.name, b.name`;
}
