import type { ApiDeps } from '../api/api-deps.ts';
import { type ApiRoute, type JsonSchema, type QueryParam, route } from '../api/api-route.ts';
import { dateTime, nullable, object, ref, uuid } from '../api/common-schemas.ts';
import { buildReport } from './report.ts';
import { farmScope, groupScope, type ReportRange } from './report-scope.ts';

const day: JsonSchema = { type: 'string', format: 'date' };
/**
 * A period's day: the days a report can count (localDayBounds: years below 100 are not computed as
 * written, the end of 9999-12-31 is in year 10000), bounded in the document as the scans' from/to are.
 */
const periodDay: JsonSchema = {
  ...day,
  formatMinimum: '0100-01-01',
  formatMaximum: '9999-12-30',
  'x-expected': 'a day from 0100-01-01 to 9999-12-30 (YYYY-MM-DD)',
};
const num = { type: 'number' };
const count = { type: 'integer', minimum: 0 };
const measure = { type: ['number', 'null'], description: 'null when missing — never 0' };

export const REPORT_PARAMS: Record<keyof ReportRange, QueryParam> = {
  from: {
    schema: periodDay,
    description: "First day of the period (YYYY-MM-DD, the farm's local calendar).",
  },
  to: {
    schema: periodDay,
    description: "Last day of the period, inclusive (YYYY-MM-DD, the farm's local calendar).",
  },
};

const grades = object({ A: count, M: count, R: count, no_grade: count, not_graded: count });
const stats = object({
  measured: { ...count, description: 'Usable (A/M) scans with a value.' },
  not_measured: { ...count, description: 'Usable (A/M) scans without a value.' },
  mean: measure,
  sd: { ...measure, description: 'Sample standard deviation; null below two values.' },
  min: measure,
  median: measure,
  max: measure,
  histogram: object({
    bin_width: { type: ['number', 'null'] },
    bins: { type: 'array', items: object({ from: num, to: num, count }) },
  }),
});
const groupMean = object({ measured: count, mean: measure });

export const reportSchema: JsonSchema = object({
  scope: object({
    kind: { enum: ['farm', 'group'] },
    farm: object({ id: uuid, name: { type: 'string' } }),
    group: nullable(object({ id: uuid, name: { type: 'string' } })),
    from: nullable(day),
    to: nullable(day),
    time_zone: { type: 'string', description: 'IANA zone the days are counted in.' },
    starts_at: nullable(dateTime),
    ends_at: nullable(dateTime),
  }),
  counts: object({
    scans: count,
    by_status: object({ uploaded: count, ingested: count, graded: count, error: count }),
    grades: {
      ...grades,
      description: 'Latest grading per scan: A/M/R, a result without grade, or no result yet.',
    },
    usable: {
      ...count,
      description: 'Scans whose latest grading is A or M: the measurement statistics use these.',
    },
    animals: count,
    not_linked_to_animal: count,
  }),
  rea_cm2: stats,
  fat_thickness_mm: stats,
  scatter: object({
    points: {
      type: 'array',
      items: object({
        scan_id: uuid,
        animal_id: nullable(uuid),
        animal_tag_id: { type: ['string', 'null'] },
        rea_cm2: num,
        fat_thickness_mm: num,
      }),
    },
    not_drawn: { ...count, description: 'Usable scans missing REA or fat thickness.' },
  }),
  by_day: {
    type: 'array',
    items: object({ day: nullable(day), scans: count, grades }),
  },
  devices: {
    type: 'array',
    items: object({
      id: uuid,
      device_code: { type: 'string' },
      label: { type: ['string', 'null'] },
      scans: count,
      grades,
      days_active: count,
      first_at: nullable(dateTime),
      last_at: nullable(dateTime),
    }),
  },
  contemporary_groups: {
    type: 'array',
    items: object({
      key: {
        oneOf: [
          object({
            kind: { const: 'scan_date_sex' },
            scan_date: nullable(day),
            sex: { type: ['string', 'null'] },
          }),
          object({ kind: { const: 'group' }, group_id: uuid, name: { type: 'string' } }),
        ],
      },
      label: { type: 'string' },
      animals: count,
      rea_cm2: groupMean,
      fat_thickness_mm: groupMean,
      members: {
        type: 'array',
        items: object({
          animal: object({
            id: { ...nullable(uuid), description: 'null: the animal is on a farm the caller cannot see.' },
            tag_id: { type: ['string', 'null'], description: 'null like id.' },
            sex: { type: ['string', 'null'] },
            on_other_farm: {
              type: 'boolean',
              description:
                'The animal lives on another farm now than the one these scans were taken on; its scans here still count.',
            },
          }),
          scans: count,
          usable_scans: count,
          scan: nullable(object({ id: uuid, at: nullable(dateTime), grade: { enum: ['A', 'M'] } })),
          rea_cm2: measure,
          rea_ratio: { ...measure, description: 'rea_cm2 ÷ the group mean × 100, one decimal.' },
          fat_thickness_mm: measure,
          fat_ratio: measure,
        }),
      },
    }),
  },
});

/** /reports/farms/{id} and /reports/groups/{id}: the figures of docs/reports.md as JSON. */
export function reportRoutes({ sql, plannedSql }: ApiDeps): ApiRoute[] {
  return [
    route<ReportRange>({
      method: 'get',
      path: '/reports/farms/{id}',
      tag: 'reports',
      summary: "A farm's report for a period: counts, distributions, scatter, grade mix, devices, ratios",
      description:
        "Contemporary groups are the breed associations' grouping: animals scanned the same local day with the " +
        'same sex. Measurement statistics use scans whose latest grading is A or M. See docs/reports.md.',
      access: 'user',
      query: REPORT_PARAMS,
      responses: { 200: { description: 'The report', schema: ref('Report') } },
      async handler({ c, principal, params, query }) {
        // A farm report's statements (the farm; its scans in a period) plan the same for every farm and
        // period: the generic-plan pool. Group reports filter through a subquery: the ordinary pool.
        const scope = await farmScope(plannedSql, principal, params.id!, query);
        return c.json((await buildReport(plannedSql, principal, scope)).report);
      },
    }),
    route<ReportRange>({
      method: 'get',
      path: '/reports/groups/{id}',
      tag: 'reports',
      summary: "An explicit contemporary group's report for a period, with each animal's ratios in the group",
      access: 'user',
      query: REPORT_PARAMS,
      responses: { 200: { description: 'The report', schema: ref('Report') } },
      async handler({ c, principal, params, query }) {
        const scope = await groupScope(sql, principal, params.id!, query);
        return c.json((await buildReport(sql, principal, scope)).report);
      },
    }),
  ];
}
