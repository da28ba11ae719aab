import tzLookup from '@photostructure/tz-lookup';

export type LatLon = { lat: number; lon: number };

/** What a page shows when a farm has no location yet: UTC, said out loud. */
export const FALLBACK_TIME_ZONE = 'UTC';

/**
 * The IANA time zone at a farm's location, found offline from boundary data bundled in
 * `@photostructure/tz-lookup` (no network, no file I/O). Give it the farm's centroid, or the
 * geofence's centre; `null` location → UTC. Points at sea get the nautical `Etc/GMT±N` zone.
 *
 * @example timeZoneAt({ lat: 43.6532, lon: -79.3832 }) // "America/Toronto"
 */
export function timeZoneAt(location: LatLon | null | undefined): string {
  if (!location) return FALLBACK_TIME_ZONE;
  const { lat, lon } = location;
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    throw new RangeError(`not a WGS84 location: ${lat}, ${lon}`);
  }
  return tzLookup(lat, lon);
}
