// Web Mercator (EPSG:3857) for farm maps. The projection itself lives in static/js/map-projection.js so
// the browser's geofence editor uses the very same maths; this module adds what only the server draws.
import { EARTH_RADIUS_M, type LonLat } from '../static/js/map-projection.js';

export {
  EARTH_RADIUS_M,
  fitViewport,
  fromSvg,
  type LonLat,
  mercator,
  metresPerUnitAt,
  project,
  scaleBarLength,
  tilesFor,
  toSvg,
  unmercator,
  type Viewport,
} from '../static/js/map-projection.js';

/** Great-circle distance in metres (haversine): for scale bars and tests. */
export function distanceM([lon1, lat1]: LonLat, [lon2, lat2]: LonLat): number {
  const rad = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
}

/** Whether a point lies inside a polygon ring (even-odd rule; GeoJSON rings, first = last). */
export function insideRing([x, y]: LonLat, ring: readonly LonLat[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside the outer ring and outside every hole of a GeoJSON polygon's coordinates. */
export function insidePolygon(point: LonLat, rings: readonly (readonly LonLat[])[]): boolean {
  const [outer, ...holes] = rings;
  return Boolean(outer && insideRing(point, outer) && !holes.some((h) => insideRing(point, h)));
}
