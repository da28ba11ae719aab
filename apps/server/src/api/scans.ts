import { scanCountsQuery } from '../access/scan-counts-query.ts';
import { decodeScanCursor, encodeScanCursor } from '../access/scan-cursor.ts';
import { findScanDetail } from '../access/scan-detail-query.ts';
import { SCAN_FILTER_PARAMS, SCAN_STATUSES, type ScanFilters } from '../access/scan-filters.ts';
import { scanListJsonQuery } from '../access/scan-list-query.ts';
import { type ScanChanges, updateScan } from '../access/scan-update.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { cursorParam, limitParam, nullable, object, pageOf, ref, shortText, uuid } from './common-schemas.ts';
import { notFound } from './request-validation.ts';
import { scanListItemJson, toScanDetail } from './scan-views.ts';

type ListQuery = ScanFilters & { limit?: number; cursor?: string };

const counts = object(Object.fromEntries(SCAN_STATUSES.map((s) => [s, { type: 'integer' }])));

export const scanPatchSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    review_label: { anyOf: [shortText(64), { type: 'null' }] },
    review_clarity: { type: ['integer', 'null'], minimum: 1, maximum: 5 },
    review_usability: { type: ['string', 'null'], enum: ['usable', 'marginal', 'unusable', null] },
    animal_id: nullable(uuid),
    farm_id: uuid,
  },
};

/**
 * Whether a list with these filters may run on the generic-plan pool: every filter but the group and
 * geofence ones (subqueries whose selectivity depends on the value) is an equality or range on an
 * index of migration 0007, so one plan serves every value (measured: bench:api, apps/server/README.md).
 */
export const planIsStable = (filters: ScanFilters): boolean =>
  filters.group_id === undefined && filters.in_geofence_of === undefined;

/** /scans: list (filters, keyset pages), counts, detail with presigned URLs, triage edits. */
export function scanRoutes({ sql, plannedSql, signer }: ApiDeps): ApiRoute[] {
  return [
    route<ListQuery>({
      method: 'get',
      path: '/scans',
      tag: 'scans',
      summary: 'Scans the caller may see, newest capture first, one keyset page at a time',
      access: 'user',
      query: { ...SCAN_FILTER_PARAMS, limit: limitParam, cursor: cursorParam },
      responses: { 200: { description: 'A page of scans', schema: pageOf(ref('ScanListItem')) } },
      async handler({ c, principal, query }) {
        const { limit = 50, cursor, ...filters } = query;
        const after = cursor === undefined ? undefined : decodeScanCursor(cursor);
        const db = planIsStable(filters) ? plannedSql : sql;
        const rows = await scanListJsonQuery(
          db,
          principal,
          filters,
          { limit: limit + 1, after },
          scanListItemJson(db),
        );
        // The items arrive as JSON text (Postgres wrote them): the page is assembled around them.
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        const next =
          rows.length > limit && last ? encodeScanCursor({ sortUs: last.sort_us, id: last.id }) : null;
        return c.body(
          `{"items":[${page.map((r) => r.item).join(',')}],"next_cursor":${JSON.stringify(next)}}`,
          200,
          {
            'content-type': 'application/json',
          },
        );
      },
    }),
    route<ScanFilters>({
      method: 'get',
      path: '/scans/counts',
      tag: 'scans',
      summary: 'Counts of the filtered scans by status, overall and captured in the last 24 hours',
      description:
        '`last_24h` counts scans captured from 24 hours ago up to 5 minutes ahead of the server clock; a scan whose device clock runs further ahead is in `total` and `captured_ahead` only.',
      access: 'user',
      query: SCAN_FILTER_PARAMS,
      responses: {
        200: {
          description: 'Counts',
          schema: object({
            total: { type: 'integer' },
            by_status: counts,
            last_24h: object({ total: { type: 'integer' }, by_status: counts }),
            captured_ahead: {
              type: 'integer',
              description:
                'Scans captured more than 5 minutes ahead of the server clock (a device clock running fast): in `total`, not in `last_24h`.',
            },
          }),
        },
      },
      async handler({ c, principal, query }) {
        const rows = await scanCountsQuery(sql, principal, query);
        const zero = () => Object.fromEntries(SCAN_STATUSES.map((s) => [s, 0])) as Record<string, number>;
        const byStatus = zero();
        const recent = zero();
        let ahead = 0;
        for (const r of rows) {
          ahead += r.ahead;
          byStatus[r.status] = r.total;
          recent[r.status] = r.last_24h;
        }
        const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
        return c.json({
          total: sum(byStatus),
          by_status: byStatus,
          last_24h: { total: sum(recent), by_status: recent },
          captured_ahead: ahead,
        });
      },
    }),
    route({
      method: 'get',
      path: '/scans/{id}',
      tag: 'scans',
      summary: 'One scan: metadata, event timeline, every grading result with lineage, presigned URLs',
      access: 'user',
      responses: { 200: { description: 'The scan', schema: ref('ScanDetail') } },
      async handler({ c, principal, params }) {
        const row = await findScanDetail(plannedSql, principal, params.id!);
        if (row === undefined) throw notFound('scan');
        return c.json(await toScanDetail(row, signer));
      },
    }),
    route<Record<string, never>, ScanChanges>({
      method: 'patch',
      path: '/scans/{id}',
      tag: 'scans',
      summary: 'Review fields, the animal link or the farm of a scan (admins; technicians of both farms)',
      access: 'user',
      body: scanPatchSchema,
      responses: { 200: { description: 'The updated scan', schema: ref('ScanDetail') } },
      async handler({ c, principal, params, body }) {
        if (!(await updateScan(sql, principal, params.id!, body))) throw notFound('scan');
        const row = await findScanDetail(sql, principal, params.id!);
        if (row === undefined) throw notFound('scan');
        return c.json(await toScanDetail(row, signer));
      },
    }),
  ];
}
