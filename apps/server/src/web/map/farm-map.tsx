import { ChartFrame } from '../charts/chart-frame.tsx';
import { formatLocal } from '../time/format-local.ts';
import type { Grade } from '../view-types.ts';
import { fitViewport, insidePolygon, type LonLat, scaleBarLength, tilesFor, toSvg } from './projection.ts';

/** GeoJSON Polygon (SRID 4326) as `ST_AsGeoJSON(geofence)::json` returns it. */
export type GeoJsonPolygon = { type: 'Polygon'; coordinates: readonly (readonly LonLat[])[] };

export type MapScan = {
  id: string;
  /** null: the capture had no GPS fix (counted, not drawn). */
  lon: number | null;
  lat: number | null;
  capturedAt?: Date | string | null;
  grade?: Grade | null;
  label?: string;
  href?: string;
};

export type FarmMapProps = {
  id: string;
  farmName: string;
  geofence: GeoJsonPolygon | null;
  scans: readonly MapScan[];
  timeZone: string;
  /** `https://tiles.example/{z}/{x}/{y}.png`: a background only when configured (CSP img-src must allow it). */
  tileUrl?: string | null;
  tileAttribution?: string;
  /** More [lon, lat] the view must take in: the geofence editor's start when nothing is drawn yet. */
  extent?: readonly LonLat[];
  width?: number;
  height?: number;
};

/**
 * The farm's geofence and scan locations as an SVG map, drawn by the server in Web Mercator: a plain
 * map with a scale bar and a north arrow, with map tiles underneath only when a tile URL is configured.
 * Scans outside the geofence are marked as such.
 */
export function FarmMap({
  id,
  farmName,
  geofence,
  scans,
  timeZone,
  tileUrl,
  tileAttribution,
  extent = [],
  width = 640,
  height = 420,
}: FarmMapProps) {
  const located = scans.filter((s): s is MapScan & { lon: number; lat: number } => isCoord(s.lon, s.lat));
  const missing = scans.length - located.length;
  const ring = geofence?.coordinates[0] ?? [];
  const all: LonLat[] = [...ring, ...located.map((s) => [s.lon, s.lat] as const)];
  const note =
    missing > 0
      ? `${missing} ${missing === 1 ? 'scan has' : 'scans have'} no GPS position and ${missing === 1 ? 'is' : 'are'} not shown.`
      : undefined;
  const title = `Map of ${farmName}`;
  const frame = { id, title, note, size: { width, height }, figureClass: 'farm-map', svgClass: 'map-svg' };
  if (all.length === 0 && extent.length === 0) {
    return (
      <ChartFrame
        {...frame}
        description="No map: no geofence and no scan positions."
        empty="No geofence and no scan positions for this farm yet"
      />
    );
  }
  const v = fitViewport(all.length > 0 ? all : extent, width, height);
  const outside = geofence ? located.filter((s) => !insidePolygon([s.lon, s.lat], geofence.coordinates)) : [];
  const description =
    `${geofence ? 'Geofence outline' : 'No geofence'}; ${located.length} scan ${located.length === 1 ? 'position' : 'positions'}` +
    `${outside.length ? `, ${outside.length} outside the geofence` : ''}.`;
  const path = (geofence?.coordinates ?? [])
    .map((r) => `M${r.map((p) => toSvg(v, p).join(',')).join('L')}Z`)
    .join('');
  const bar = scaleBarLength((width / 4) * v.metresPerUnit);
  const barPx = Math.round((bar.metres / v.metresPerUnit) * 100) / 100;
  return (
    <ChartFrame {...frame} description={description}>
      <rect class="map-bg" x={0} y={0} width={width} height={height} fill="#eef3e8" />
      {/* The viewport, so a page script (the geofence editor) maps the SVG back to lon/lat the same way. */}
      <g class="map-view" data-scale={v.scale} data-origin-x={v.originX} data-origin-y={v.originY} />
      {tileUrl && <Tiles url={tileUrl} v={v} />}
      {path && (
        <path
          class="geofence"
          d={path}
          fill="#4f7d2a"
          fill-opacity="0.15"
          stroke="#2f5a12"
          stroke-width="2"
          fill-rule="evenodd"
        />
      )}
      <g class="scan-points">
        {located.map((s) => {
          const [x, y] = toSvg(v, [s.lon, s.lat]);
          const out = outside.includes(s);
          const tip = [
            s.label ?? 'Scan',
            s.capturedAt ? formatLocal(s.capturedAt, timeZone) : null,
            s.grade ? `grade ${s.grade}` : null,
            out ? 'outside the geofence' : null,
          ]
            .filter(Boolean)
            .join(', ');
          const dot = (
            <circle
              class={`scan-point grade-${(s.grade ?? 'none').toLowerCase()}${out ? ' outside' : ''}`}
              cx={x}
              cy={y}
              r={6}
              fill="#1f5fa8"
              stroke="#fff"
              stroke-width="2"
              data-scan-id={s.id}
            >
              <title>{tip}</title>
            </circle>
          );
          return s.href ? (
            <a href={s.href} aria-label={tip}>
              {dot}
            </a>
          ) : (
            dot
          );
        })}
      </g>
      <g class="north-arrow" transform={`translate(${width - 30} 20)`}>
        <path d="M0,0 L8,22 L0,17 L-8,22 Z" fill="#222" />
        <text x={0} y={36} text-anchor="middle" font-weight="bold" fill="#222">
          N
        </text>
      </g>
      <g class="scale-bar" transform={`translate(16 ${height - 20})`}>
        <rect x={-4} y={-18} width={barPx + 8} height={24} fill="#fff" fill-opacity="0.8" />
        <path
          d={`M0,-6 V0 H${barPx} V-6`}
          fill="none"
          stroke="#222"
          stroke-width="2"
          data-metres={bar.metres}
        />
        <text x={barPx / 2} y={-6} text-anchor="middle" fill="#222">
          {bar.label}
        </text>
      </g>
      {tileUrl && tileAttribution && (
        <text
          class="map-attribution"
          x={width - 4}
          y={height - 4}
          text-anchor="end"
          font-size="10"
          fill="#222"
        >
          {tileAttribution}
        </text>
      )}
    </ChartFrame>
  );
}

function Tiles({ url, v }: { url: string; v: ReturnType<typeof fitViewport> }) {
  const { z, tiles } = tilesFor(v);
  return (
    <g class="map-tiles" data-url={url}>
      {tiles.map((t) => (
        <image
          href={url.replace('{z}', String(z)).replace('{x}', String(t.x)).replace('{y}', String(t.y))}
          x={t.svgX}
          y={t.svgY}
          width={t.size}
          height={t.size}
          preserveAspectRatio="none"
        />
      ))}
    </g>
  );
}

const isCoord = (lon: number | null, lat: number | null) =>
  typeof lon === 'number' &&
  typeof lat === 'number' &&
  Number.isFinite(lon) &&
  Number.isFinite(lat) &&
  Math.abs(lat) <= 90 &&
  Math.abs(lon) <= 180;
