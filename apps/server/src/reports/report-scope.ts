import type { Db } from '../access/farm-access.ts';
import { findFarm } from '../access/farm-queries.ts';
import { findGroup, type GroupRow } from '../access/group-queries.ts';
import type { ScanFilters } from '../access/scan-filters.ts';
import { invalidRequest, notFound } from '../api/request-validation.ts';
import type { Principal } from '../auth/principal.ts';
import { timeZoneAt } from '../web/time/farm-time-zone.ts';
import { dayProblem, localDayBound } from '../web/time/format-local.ts';

/** A report's period: local calendar days of the farm, both inclusive; either may be open. */
export type ReportRange = { from?: string; to?: string };

/** What a report covers, resolved against the caller's access (a farm or group they cannot see is a 404). */
export type ReportScope = {
  kind: 'farm' | 'group';
  farm: { id: string; name: string };
  group: GroupRow | null;
  /** The farm's IANA time zone (from its centroid; UTC without one): days are counted in it. */
  timeZone: string;
  from: string | null;
  to: string | null;
  /** UTC bounds of the period: [startsAt, endsAt). */
  startsAt: string | null;
  endsAt: string | null;
  /** The scans list's filters for this scope (reports, export links and the scans list agree). */
  filters: ScanFilters;
};

/** Checks a period (422 naming /query/from or /query/to) and returns it normalised. */
export function checkRange(range: ReportRange): { from: string | null; to: string | null } {
  const problems = (['from', 'to'] as const).flatMap((k) => {
    const message = range[k] === undefined ? null : dayProblem(range[k]!);
    return message ? [{ pointer: `/query/${k}`, message }] : [];
  });
  if (problems.length === 0 && range.from && range.to && range.from > range.to)
    problems.push({ pointer: '/query/to', message: 'must not be before from' });
  if (problems.length > 0) throw invalidRequest(problems, 'invalid query parameters');
  return { from: range.from ?? null, to: range.to ?? null };
}

async function scopeOf(
  sql: Db,
  principal: Principal,
  farmId: string,
  group: GroupRow | null,
  range: ReportRange,
): Promise<ReportScope> {
  const { from, to } = checkRange(range);
  const farm = await findFarm(sql, principal, farmId);
  if (!farm) throw notFound(group ? 'group' : 'farm');
  return withTimeZone(
    {
      kind: group ? 'group' : 'farm',
      farm: { id: farm.id, name: farm.name },
      group,
      timeZone: 'UTC',
      from,
      to,
      startsAt: null,
      endsAt: null,
      filters: {},
    },
    timeZoneAt(farm.centroid),
  );
}

/** The same scope counted in another time zone (bounds and filters follow). */
export function withTimeZone(scope: ReportScope, timeZone: string): ReportScope {
  const startsAt = scope.from ? localDayBound(scope.from, timeZone, 'start').toISOString() : null;
  const endsAt = scope.to ? localDayBound(scope.to, timeZone, 'end').toISOString() : null;
  const filters: ScanFilters = scope.group ? { group_id: scope.group.id } : { farm_id: scope.farm.id };
  if (startsAt) filters.from = startsAt;
  if (endsAt) filters.to = endsAt;
  return { ...scope, timeZone, startsAt, endsAt, filters };
}

/** A farm report's scope: the farm's scans in the period. */
export function farmScope(sql: Db, principal: Principal, farmId: string, range: ReportRange) {
  return scopeOf(sql, principal, farmId, null, range);
}

/** An explicit group's scope: the scans of the group's animals in the period (the group's farm's time zone). */
export async function groupScope(sql: Db, principal: Principal, groupId: string, range: ReportRange) {
  checkRange(range);
  const group = await findGroup(sql, principal, groupId);
  if (!group) throw notFound('group');
  return scopeOf(sql, principal, group.farm.id, group, range);
}
