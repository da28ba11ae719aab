// The geofence editor's pure geometry: corners ↔ the GeoJSON Polygon the farm form posts, and the
// warnings shown before submitting (too few corners, edges crossing). The server's PostGIS check stays
// the authority; these only tell the person early. No DOM, so Node tests import it.

const DECIMALS = 1e7; // 7 decimal places of a degree ≈ 1 cm: enough for a fence, short in the textarea

const fix = (n) => Math.round(n * DECIMALS) / DECIMALS;
const same = (a, b) => a[0] === b[0] && a[1] === b[1];

/** The Polygon of an outer ring's corners (not closed) and any holes kept as they were; null when empty. */
export function polygonOf(corners, holes = []) {
  if (corners.length === 0) return null;
  const ring = corners.map(([lon, lat]) => [fix(lon), fix(lat)]);
  return { type: 'Polygon', coordinates: [[...ring, ring[0]], ...holes] };
}

/** The textarea's text for `corners` (empty when there are none), as the form posts it. */
export function geofenceText(corners, holes = []) {
  const polygon = polygonOf(corners, holes);
  return polygon ? JSON.stringify(polygon) : '';
}

/**
 * The corners (outer ring without its closing position) and holes of a geofence typed into the
 * textarea: a Polygon, a Feature or a one-feature FeatureCollection, as the server reads it. Empty
 * text → no corners; anything the map cannot show → null (the server will name the problem).
 */
export function cornersOf(text) {
  if (!text.trim()) return { corners: [], holes: [] };
  let geo;
  try {
    geo = JSON.parse(text);
  } catch {
    return null;
  }
  if (geo?.type === 'Feature') geo = geo.geometry;
  else if (geo?.type === 'FeatureCollection' && geo.features?.length === 1) geo = geo.features[0]?.geometry;
  if (geo?.type !== 'Polygon' || !Array.isArray(geo.coordinates)) return null;
  const [outer, ...holes] = geo.coordinates;
  if (!Array.isArray(outer) || !outer.every(isPosition) || !holes.every(Array.isArray)) return null;
  const corners = outer.map(([lon, lat]) => [lon, lat]);
  if (corners.length > 1 && same(corners[0], corners[corners.length - 1])) corners.pop();
  return { corners, holes };
}

const isPosition = (p) =>
  Array.isArray(p) &&
  p.length >= 2 &&
  p.slice(0, 2).every((n) => typeof n === 'number' && Number.isFinite(n)) &&
  Math.abs(p[0]) <= 180 &&
  Math.abs(p[1]) <= 90;

/** Whether two edges of the closed ring through `corners` cross or touch (other than at a shared corner). */
export function selfIntersects(corners) {
  const n = corners.length;
  if (n < 4) return false; // a triangle cannot cross itself (a flat one encloses no area: the server says so)
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const adjacent = j === i + 1 || (i === 0 && j === n - 1);
      if (adjacent) continue;
      if (segmentsMeet(corners[i], corners[(i + 1) % n], corners[j], corners[(j + 1) % n])) return true;
    }
  }
  return false;
}

/** Whether segments ab and cd share a point (planar lon/lat, as PostGIS checks a geometry). */
export function segmentsMeet(a, b, c, d) {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (
    (d1 === 0 && onSegment(c, d, a)) ||
    (d2 === 0 && onSegment(c, d, b)) ||
    (d3 === 0 && onSegment(a, b, c)) ||
    (d4 === 0 && onSegment(a, b, d))
  );
}

const cross = (o, p, q) => (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]);
const onSegment = (p, q, r) =>
  Math.min(p[0], q[0]) <= r[0] &&
  r[0] <= Math.max(p[0], q[0]) &&
  Math.min(p[1], q[1]) <= r[1] &&
  r[1] <= Math.max(p[1], q[1]);

/** What is wrong with the drawing before it is sent, in words; null when nothing is. */
export function drawingProblem(corners) {
  const n = corners.length;
  if (n > 0 && n < 3) {
    return `A geofence needs at least 3 corners (${n} so far): the farm cannot be saved with this one.`;
  }
  if (selfIntersects(corners)) {
    return 'Two edges of the geofence cross: the farm cannot be saved with this shape. Move or remove a corner so no edges cross.';
  }
  return null;
}
