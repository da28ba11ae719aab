import { findAnimal } from '../access/animal-queries.ts';
import { listDevices } from '../access/device-queries.ts';
import type { Db } from '../access/farm-access.ts';
import { findFarm } from '../access/farm-queries.ts';
import { findGroup } from '../access/group-queries.ts';
import type { ScanFilters } from '../access/scan-filters.ts';
import { notFound } from '../api/request-validation.ts';
import type { Principal } from '../auth/principal.ts';

/**
 * Every farm, group, animal and device an export's filters name must exist for the caller: another
 * farm's id is the same 404 as a missing one (the scans list answers an empty page instead; a file is
 * a deliberate request for that data). Checked before the first byte. Returns the named farm's name
 * (for the file name), if any. The rows themselves are still scoped by scanFilterConditions.
 */
export async function checkExportFilters(
  sql: Db,
  principal: Principal,
  filters: ScanFilters,
): Promise<{ farmName: string | null }> {
  const [farm, geofenceFarm, group, animal, devices] = await Promise.all([
    filters.farm_id ? findFarm(sql, principal, filters.farm_id) : null,
    filters.in_geofence_of ? findFarm(sql, principal, filters.in_geofence_of) : null,
    filters.group_id ? findGroup(sql, principal, filters.group_id) : null,
    filters.animal_id ? findAnimal(sql, principal, filters.animal_id) : null,
    filters.device_id ? listDevices(sql, principal, { id: filters.device_id, counts: false }) : null,
  ]);
  if (filters.farm_id && !farm) throw notFound('farm');
  if (filters.in_geofence_of && !geofenceFarm) throw notFound('farm');
  if (filters.group_id && !group) throw notFound('group');
  if (filters.animal_id && !animal) throw notFound('animal');
  if (filters.device_id && devices?.length === 0) throw notFound('device');
  return { farmName: farm?.name ?? group?.farm.name ?? animal?.farm.name ?? null };
}

/** "Maple Leaf Farm (Nord)" → "maple-leaf-farm-nord": ASCII only, so the file name needs no encoding. */
export function slug(text: string): string {
  const s = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'farm';
}

/** `cti-scans-<farm>-<UTC time>.<ext>`, e.g. cti-scans-maple-farm-20250909T141832Z.csv */
export function exportFileName(farmName: string | null, now: Date, ext: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `cti-scans-${farmName === null ? 'all' : slug(farmName)}-${stamp}.${ext}`;
}
