// Web Mercator (EPSG:3857) for farm maps, shared by the server (map/projection.ts re-exports it to draw
// the SVG) and the browser (the geofence editor turns a pointer back into lon/lat with the same maths).
// The projection of every tile server, so an optional tile background lines up, and conformal, so a
// square paddock looks square at any latitude. Pure functions, no DOM.

export const EARTH_RADIUS_M = 6_378_137;
const MAX_LAT = 85.05112878;

/** Projected metres (x east, y north) of a WGS84 [lon, lat] (SRID 4326, GeoJSON order). */
export function mercator([lon, lat]) {
  const phi = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  return [(EARTH_RADIUS_M * lon * Math.PI) / 180, EARTH_RADIUS_M * Math.log(Math.tan(Math.PI / 4 + phi / 2))];
}

/** Inverse of `mercator`. */
export function unmercator([x, y]) {
  return [
    ((x / EARTH_RADIUS_M) * 180) / Math.PI,
    ((2 * Math.atan(Math.exp(y / EARTH_RADIUS_M)) - Math.PI / 2) * 180) / Math.PI,
  ];
}

/**
 * A viewport that fits `points` ([lon, lat]) into width × height minus `padding`, same scale on both
 * axes, centred. A single point or a tiny spread is shown at least `minSpanM` metres across.
 */
export function fitViewport(points, width, height, { padding = 24, minSpanM = 400 } = {}) {
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

/** SVG coordinates (y down) of a [lon, lat] in viewport `v`, unrounded (the editor's handles). */
export function project(v, lonLat) {
  const [x, y] = mercator(lonLat);
  return [(x - v.originX) * v.scale, (v.originY - y) * v.scale];
}

/** SVG coordinates of a [lon, lat] in `v`, rounded to 0.01 (the server's markup). */
export function toSvg(v, lonLat) {
  const [x, y] = project(v, lonLat);
  return [round(x), round(y)];
}

/** Inverse of `project`: the [lon, lat] under SVG point (x, y) of viewport `v`. */
export function fromSvg(v, [x, y]) {
  return unmercator([v.originX + x / v.scale, v.originY - y / v.scale]);
}

/** Ground metres per SVG unit at latitude `lat` (Mercator stretches by 1/cos φ). */
export function metresPerUnitAt(v, lat) {
  return Math.cos((lat * Math.PI) / 180) / v.scale;
}

/** A round length (1, 2, 5 × 10ⁿ metres) close to `target` metres, and its label ("500 m", "2 km"). */
export function scaleBarLength(targetM) {
  const exponent = Math.floor(Math.log10(targetM));
  const base = 10 ** exponent;
  const f = targetM / base;
  const metres = (f >= 5 ? 5 : f >= 2 ? 2 : 1) * base;
  return { metres, label: metres >= 1000 ? `${metres / 1000} km` : `${metres} m` };
}

/** Slippy-map tiles (z/x/y) covering the viewport, at the zoom whose pixels best match its scale. */
export function tilesFor(v) {
  const world = 2 * Math.PI * EARTH_RADIUS_M;
  const z = Math.max(0, Math.min(19, Math.round(Math.log2((v.scale * world) / 256))));
  const n = 2 ** z;
  const tileM = world / n;
  const toTile = (mx, my) => [Math.floor((mx + world / 2) / tileM), Math.floor((world / 2 - my) / tileM)];
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

const round = (x) => Math.round(x * 100) / 100;
