// Types of map-projection.js for the server's TypeScript (map/projection.ts re-exports it).
// Not served: /static serves only known browser file types.
export type LonLat = readonly [lon: number, lat: number];

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

export const EARTH_RADIUS_M: number;
export function mercator(lonLat: LonLat): [number, number];
export function unmercator(xy: readonly [number, number]): [number, number];
export function fitViewport(
  points: readonly LonLat[],
  width: number,
  height: number,
  options?: { padding?: number; minSpanM?: number },
): Viewport;
export function project(v: Viewport, lonLat: LonLat): [number, number];
export function toSvg(v: Viewport, lonLat: LonLat): [number, number];
export function fromSvg(v: Viewport, xy: readonly [number, number]): [number, number];
export function metresPerUnitAt(v: Viewport, lat: number): number;
export function scaleBarLength(targetM: number): { metres: number; label: string };
export function tilesFor(v: Viewport): {
  z: number;
  tiles: { x: number; y: number; svgX: number; svgY: number; size: number }[];
};
