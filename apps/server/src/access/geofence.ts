import type { Problem } from '@cti/contracts';
import { HttpError } from '../errors.ts';
import type { Db } from './farm-access.ts';

const MAX_POSITIONS = 10_000;
const WGS84_NAMES = new Set([
  'EPSG:4326',
  'urn:ogc:def:crs:EPSG::4326',
  'urn:ogc:def:crs:OGC:1.3:CRS84',
  'urn:ogc:def:crs:OGC::CRS84',
]);

type Position = [number, number];

/** Problems of a GeoJSON position (RFC 7946: [longitude, latitude], WGS 84). */
function positionProblems(p: unknown, pointer: string): Problem[] {
  if (
    !Array.isArray(p) ||
    p.length < 2 ||
    p.length > 3 ||
    !p.every((n) => typeof n === 'number' && Number.isFinite(n))
  ) {
    return [{ pointer, message: 'must be a position [longitude, latitude]' }];
  }
  const [lon, lat] = p as Position;
  const out: Problem[] = [];
  if (lon < -180 || lon > 180)
    out.push({ pointer: `${pointer}/0`, message: 'longitude must be between -180 and 180' });
  if (lat < -90 || lat > 90)
    out.push({ pointer: `${pointer}/1`, message: 'latitude must be between -90 and 90' });
  return out;
}

function crsProblems(geo: Record<string, unknown>, pointer: string): Problem[] {
  if (!('crs' in geo) || geo.crs === null) return [];
  const name = (geo.crs as { properties?: { name?: unknown } } | undefined)?.properties?.name;
  return typeof name === 'string' && WGS84_NAMES.has(name)
    ? []
    : [{ pointer: `${pointer}/crs`, message: 'must be WGS 84 (EPSG:4326 / CRS84), or left out' }];
}

/** Structural problems of a GeoJSON Polygon (a farm's geofence), each naming its JSON pointer. */
export function polygonProblems(geo: unknown, pointer = '/geofence'): Problem[] {
  if (geo === null || typeof geo !== 'object' || Array.isArray(geo))
    return [{ pointer, message: 'must be a GeoJSON Polygon object' }];
  const g = geo as Record<string, unknown>;
  if (g.type !== 'Polygon') return [{ pointer: `${pointer}/type`, message: 'must be "Polygon"' }];
  const rings = g.coordinates;
  if (!Array.isArray(rings) || rings.length === 0) {
    return [{ pointer: `${pointer}/coordinates`, message: 'must be a non-empty array of linear rings' }];
  }
  const problems: Problem[] = [...crsProblems(g, pointer)];
  let count = 0;
  rings.forEach((ring, i) => {
    const at = `${pointer}/coordinates/${i}`;
    if (!Array.isArray(ring) || ring.length < 4) {
      problems.push({
        pointer: at,
        message: 'a linear ring needs at least 4 positions (the first repeated last)',
      });
      return;
    }
    count += ring.length;
    ring.forEach((p, j) => {
      const here = positionProblems(p, `${at}/${j}`);
      problems.push(...here);
      // A ring edge whose longitudes jump by more than 180° is meant to cross the antimeridian, but
      // planar PostGIS would store it as the polygon going the other way round the globe (RFC 7946 §3.1.9).
      const prev = j > 0 ? (ring[j - 1] as unknown) : undefined;
      if (here.length === 0 && j > 0 && positionProblems(prev, '').length === 0) {
        const [lon0] = prev as Position;
        const [lon1] = p as Position;
        if (Math.abs(lon1 - lon0) > 180) {
          problems.push({
            pointer: `${at}/${j}`,
            message: `crosses the antimeridian (longitude ${lon0} to ${lon1} jumps more than 180°): a geofence must not cross ±180°; split it there (RFC 7946 §3.1.9) and keep the farm's side`,
          });
        }
      }
    });
    const first = ring[0] as number[];
    const last = ring[ring.length - 1] as number[];
    if (Array.isArray(first) && Array.isArray(last) && (first[0] !== last[0] || first[1] !== last[1])) {
      problems.push({
        pointer: `${at}/${ring.length - 1}`,
        message: 'the ring is not closed: the last position must equal the first',
      });
    }
  });
  if (count > MAX_POSITIONS)
    problems.push({
      pointer: `${pointer}/coordinates`,
      message: `must have at most ${MAX_POSITIONS} positions`,
    });
  return problems;
}

export function pointProblems(geo: unknown, pointer = '/centroid'): Problem[] {
  if (geo === null || typeof geo !== 'object' || (geo as { type?: unknown }).type !== 'Point') {
    return [{ pointer, message: 'must be a GeoJSON Point' }];
  }
  return [
    ...crsProblems(geo as Record<string, unknown>, pointer),
    ...positionProblems((geo as { coordinates?: unknown }).coordinates, `${pointer}/coordinates`),
  ];
}

const invalid = (problems: Problem[]) =>
  new HttpError(
    422,
    'invalid_geometry',
    `invalid geometry: ${problems.map((p) => `${p.pointer} ${p.message}`).join('; ')}`,
    { problems },
  );

/**
 * Validates a geofence fully: structure here, then PostGIS (self-intersections, rings crossing,
 * holes outside the shell, zero area). Returns the GeoJSON text to store with ST_GeomFromGeoJSON (SRID
 * 4326, longitude and latitude only); throws a 422 naming the problem, e.g. "Self-intersection[-79.38 43.65]".
 */
export async function validateGeofence(sql: Db, geo: unknown, pointer = '/geofence'): Promise<string> {
  const problems = polygonProblems(geo, pointer);
  if (problems.length > 0) throw invalid(problems);
  // An optional altitude (RFC 7946 allows [lon, lat, alt]) is dropped: a geofence is 2-D (the column
  // is geometry(Polygon, 4326)), and PostGIS refuses a 3-D polygon there.
  const text = JSON.stringify({
    type: 'Polygon',
    coordinates: (geo as { coordinates: Position[][] }).coordinates.map((ring) =>
      ring.map(([lon, lat]) => [lon, lat]),
    ),
  });
  const [row] = await sql<{ valid: boolean; reason: string; area: number }[]>`
    SELECT ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason, ST_Area(g::geography) AS area
      FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(${text}), 4326) AS g) x`;
  if (!row?.valid)
    throw invalid([{ pointer, message: `is not a valid polygon: ${row?.reason ?? 'unknown reason'}` }]);
  if (!(row.area > 0)) throw invalid([{ pointer, message: 'encloses no area' }]);
  return text;
}

/** Problems of a centre written `{lat, lon}`, the shape the API answers with. */
function latLonProblems(geo: Record<string, unknown>, pointer: string): Problem[] {
  const out: Problem[] = Object.keys(geo)
    .filter((k) => k !== 'lat' && k !== 'lon')
    .map((k) => ({ pointer: `${pointer}/${k}`, message: 'is not a property of {lat, lon}' }));
  const number = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!number(geo.lat) || (geo.lat as number) < -90 || (geo.lat as number) > 90)
    out.push({ pointer: `${pointer}/lat`, message: 'latitude must be a number between -90 and 90' });
  if (!number(geo.lon) || (geo.lon as number) < -180 || (geo.lon as number) > 180)
    out.push({ pointer: `${pointer}/lon`, message: 'longitude must be a number between -180 and 180' });
  return out;
}

/**
 * A farm's centre as GeoJSON text to store: a GeoJSON Point, or `{lat, lon}` as the API answers it
 * (review r12 F4: a farm read with GET is sent back with PATCH). 422 `invalid_geometry` naming the problem.
 */
export function validateCentroid(geo: unknown, pointer = '/centroid'): string {
  if (geo !== null && typeof geo === 'object' && !Array.isArray(geo) && !('type' in geo)) {
    const problems = latLonProblems(geo as Record<string, unknown>, pointer);
    if (problems.length > 0) throw invalid(problems);
    const { lat, lon } = geo as { lat: number; lon: number };
    return JSON.stringify({ type: 'Point', coordinates: [lon, lat] });
  }
  const problems = pointProblems(geo, pointer);
  if (problems.length > 0) throw invalid(problems);
  const [lon, lat] = (geo as { coordinates: number[] }).coordinates;
  return JSON.stringify({ type: 'Point', coordinates: [lon, lat] });
}
