// Web Mercator (EPSG:3857) for farm maps. The projection itself lives in static/js/map-projection.js so
// the browser's geofence editor uses the very same maths; this module adds what only the server draws.
import { EARTH_RADIUS_M, type LonLat, type Viewport } from '../static/js/map-projection.js';

export {
  EARTH_RADIUS_M,
  fitViewport,
  fromSvg,
  type LonLat,
  mercator,
  metresPerUnitAt,
  project,
  scaleBarLength,
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

const round = (x: number) => Math.round(x * 100) / 100;

/** Slippy-map tiles (z/x/y) covering the viewport, at the zoom whose pixels best match its scale. */
export function tilesFor(v: Viewport): {
  z: number;
  tiles: { x: number; y: number; svgX: number; svgY: number; size: number }[];
} {
  const world = 2 * Math.PI * EARTH_RADIUS_M;
  const z = Math.max(0, Math.min(19, Math.round(Math.log2((v.scale * world) / 256))));
  const n = 2 ** z;
  const tileM = world / n;
  const toTile = (mx: number, my: number) =>
    [Math.floor((mx + world / 2) / tileM), Math.floor((world / 2 - my) / tileM)] as const;
  const [x0, y0] = toTile(v.originX, v.originY);
  const [x1, y1] = toTile(v.originX + v.width / v.scale, v.originY - v.height / v.scale);
  const tiles = [];
  for (let ty = Math.max(0, y0); ty <= Math.min(n - 1, y1); ty++) {
    for (let tx = x0; tx <= x1; tx++) {
      tiles.push({
        x: ((tx % n) + n) % n,
        y: ty,
        svgX: round((tx * tileM - world / 2 - v.originX) * v.scale),
        svgY: round((v.originY - (world / 2 - ty * tileM)) * v.scale),
        size: round(tileM * v.scale),
      });
    }
  }
  return { z, tiles };
}
