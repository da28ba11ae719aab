import type { Db } from '../access/farm-access.ts';
import type { Principal } from '../auth/principal.ts';
import { type ContemporaryGroup, explicitGroup, groupsByScanDateAndSex } from './contemporary-groups.ts';
import { type ScanFigures, scanFigures } from './report-figures.ts';
import { type ReportScan, reportScansQuery } from './report-rows.ts';
import { type ReportScope, withTimeZone } from './report-scope.ts';

export type Report = ScanFigures & {
  scope: {
    kind: 'farm' | 'group';
    farm: { id: string; name: string };
    group: { id: string; name: string } | null;
    from: string | null;
    to: string | null;
    time_zone: string;
    starts_at: string | null;
    ends_at: string | null;
  };
  contemporary_groups: ContemporaryGroup[];
};

/**
 * A farm or group report: the figures of its scans (report-figures.ts) and its contemporary groups with
 * per-animal ratios (contemporary-groups.ts) — the breed associations' grouping (scan day + sex) for a
 * farm, the group itself for an explicit group. `scans` is returned too, for pages that list them.
 */
export async function buildReport(
  sql: Db,
  principal: Principal,
  requested: ReportScope,
): Promise<{ report: Report; scans: ReportScan[]; scope: ReportScope }> {
  let scope = requested;
  let scans: ReportScan[];
  try {
    scans = await reportScansQuery(sql, principal, scope.filters, scope.timeZone);
  } catch (err) {
    // 22023: a zone name the offline lookup knows but this Postgres's tz database does not (a zone
    // newer than it): count days in UTC rather than fail, and say so in scope.time_zone.
    if ((err as { code?: string }).code !== '22023' || scope.timeZone === 'UTC') throw err;
    scope = withTimeZone(scope, 'UTC');
    scans = await reportScansQuery(sql, principal, scope.filters, scope.timeZone);
  }
  const report: Report = {
    scope: {
      kind: scope.kind,
      farm: scope.farm,
      group: scope.group ? { id: scope.group.id, name: scope.group.name } : null,
      from: scope.from,
      to: scope.to,
      time_zone: scope.timeZone,
      starts_at: scope.startsAt,
      ends_at: scope.endsAt,
    },
    ...scanFigures(scans),
    contemporary_groups: scope.group ? [explicitGroup(scope.group, scans)] : groupsByScanDateAndSex(scans),
  };
  return { report, scans, scope };
}
