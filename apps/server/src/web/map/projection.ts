// Web Mercator (EPSG:3857) for farm maps: the projection of every tile server, so an optional tile
// background lines up, and conformal, so a square paddock looks square at any latitude.

export const EARTH_RADIUS_M = 6_378_137;
const MAX_LAT = 85.05112878;

export type LonLat = readonly [lon: number, lat: number];

/** Projected metres (x east, y north) of a WGS84 lon/lat (SRID 4326, GeoJSON order). */
export function mercator([lon, lat]: LonLat): [number, number] {
  const phi = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  return [(EARTH_RADIUS_M * lon * Math.PI) / 180, EARTH_RADIUS_M * Math.log(Math.tan(Math.PI / 4 + phi / 2))];
}

/** Inverse of `mercator`. */
export function unmercator([x, y]: readonly [number, number]): [number, number] {
  return [
    ((x / EARTH_RADIUS_M) * 180) / Math.PI,
    ((2 * Math.atan(Math.exp(y / EARTH_RADIUS_M)) - Math.PI / 2) * 180) / Math.PI,
  ];
}

/** Great-circle distance in metres (haversine): for scale bars and tests. */
export function distanceM([lon1, lat1]: LonLat, [lon2, lat2]: LonLat): number {
  const rad = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
}

export type Viewport = {
  width: number;
  height: number;
  /** SVG units per projected metre. */
  scale: number;
  /** Projected metres of the SVG origin (top-left). */
  originX: number;
  originY: number;
  /** Ground metres per SVG unit at the map's centre latitude (Mercator stretches by 1/cos φ). */
  metresPerUnit: number;
};

/**
 * A viewport that fits `points` (lon/lat) into width × height minus `padding`, same scale on both
 * axes, centred. A single point or a tiny spread is shown at least `minSpanM` metres across.
 */
export function fitViewport(
  points: readonly LonLat[],
  width: number,
  height: number,
  { padding = 24, minSpanM = 400 } = {},
): Viewport {
  const xy = points.map(mercator);
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  const [cx, cy] = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
  const centreLat = unmercator([cx, cy])[1];
  const cos = Math.cos((centreLat * Math.PI) / 180);
  const minSpan = minSpanM / cos; // projected metres that cover minSpanM on the ground
  const spanX = Math.max(Math.max(...xs) - Math.min(...xs), minSpan);
  const spanY = Math.max(Math.max(...ys) - Math.min(...ys), minSpan);
  const scale = Math.min((width - 2 * padding) / spanX, (height - 2 * padding) / spanY);
  return {
    width,
    height,
    scale,
    originX: cx - width / 2 / scale,
    originY: cy + height / 2 / scale,
    metresPerUnit: cos / scale,
  };
}

/** SVG coordinates (y down) of a lon/lat in `v`, rounded to 0.01. */
export function toSvg(v: Viewport, lonLat: LonLat): [number, number] {
  const [x, y] = mercator(lonLat);
  return [round((x - v.originX) * v.scale), round((v.originY - y) * v.scale)];
}

const round = (x: number) => Math.round(x * 100) / 100;

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

/** A round length (1, 2, 5 × 10ⁿ metres) close to `target` metres, and its label ("500 m", "2 km"). */
export function scaleBarLength(targetM: number): { metres: number; label: string } {
  const exponent = Math.floor(Math.log10(targetM));
  const base = 10 ** exponent;
  const f = targetM / base;
  const metres = (f >= 5 ? 5 : f >= 2 ? 2 : 1) * base;
  return { metres, label: metres >= 1000 ? `${metres / 1000} km` : `${metres} m` };
}

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
