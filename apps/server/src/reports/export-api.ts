import type { Context } from 'hono';
import type { PendingQuery, Row } from 'postgres';
import type { Db } from '../access/farm-access.ts';
import { SCAN_FILTER_PARAMS, type ScanFilters } from '../access/scan-filters.ts';
import type { ApiDeps } from '../api/api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from '../api/api-route.ts';
import { nullable, object, uuid } from '../api/common-schemas.ts';
import type { Principal } from '../auth/principal.ts';
import { csvRecord } from './csv.ts';
import { cursorStream, StreamDeadlineError } from './cursor-stream.ts';
import { csvCells, csvHeader, EXPORT_COLUMNS, geoJsonFeature } from './export-columns.ts';
import { exportCsvLinesQuery, exportGeoJsonLinesQuery, parseExportRow } from './export-query.ts';
import { checkExportFilters, exportFileName } from './export-scope.ts';
import { exportSlots } from './export-slots.ts';

type CsvQuery = ScanFilters & { bom?: boolean };

const BATCH = 1000;
const UTF8_BOM = '\uFEFF';

const featureSchema: JsonSchema = object({
  type: { const: 'Feature' },
  id: uuid,
  geometry: nullable(
    object({
      type: { const: 'Point' },
      coordinates: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
    }),
  ),
  properties: {
    type: 'object',
    required: EXPORT_COLUMNS.filter((c) => c.name !== 'latitude' && c.name !== 'longitude').map(
      (c) => c.name,
    ),
  },
});

export const featureCollectionSchema: JsonSchema = object({
  type: { const: 'FeatureCollection' },
  features: { type: 'array', items: featureSchema },
});

/**
 * GET /exports/scans.csv and /exports/scans.geojson: every scan the caller may see that matches the
 * scans list's filters, one row/feature per scan with its latest grading, streamed from a cursor.
 * Column list: docs/exports.md.
 */
export function exportRoutes({ sql, log, config }: ApiDeps): ApiRoute[] {
  // A download holds a pool connection (its cursor's transaction) for as long as the client takes to
  // read it. At most half the pool streams at a time, so downloads can never take every connection the
  // rest of the server needs, and one user at most `perUser` of those (export-slots.ts); a client
  // that stops reading is cut after `stallTimeoutSeconds`, a download of any pace after
  // `maxDurationSeconds` (cursor-stream.ts), so neither a slot nor a snapshot is held for ever.
  const { stallTimeoutSeconds, maxDurationSeconds, perUser } = config.exports;
  const slots = exportSlots({ max: Math.max(1, Math.floor((sql.options.max ?? 10) / 2)), perUser });
  // Errors up to here are JSON answers (validation, 404 for a farm you cannot see, a database that is
  // down while the first batch is read); after the first byte a failure aborts the transfer.
  async function respond<T extends Row>(
    c: Context,
    principal: Principal,
    filters: ScanFilters,
    file: {
      ext: string;
      type: string;
      /** The rows, in file order. */
      query: (db: Db, principal: Principal, filters: ScanFilters) => PendingQuery<T[]>;
      head: string;
      line: (r: T, i: number) => string;
      tail: string;
    },
  ) {
    const { farmName } = await checkExportFilters(sql, principal, filters);
    const headers = {
      'Content-Type': file.type,
      'Content-Disposition': `attachment; filename="${exportFileName(farmName, new Date(), file.ext)}"`,
    };
    // Hono answers HEAD by running the GET handler and dropping the body unread: never open a cursor
    // (and hold a pool connection) for a body nobody will read.
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    const release = slots.take(principal.userId);
    const requestId = c.get('requestId');
    const body = await cursorStream(sql, (db) => file.query(db, principal, filters), {
      batchSize: BATCH,
      head: file.head,
      line: file.line,
      tail: file.tail,
      stallTimeoutMs: stallTimeoutSeconds * 1000,
      maxDurationMs: maxDurationSeconds * 1000,
      onError: (err) =>
        err instanceof StreamDeadlineError
          ? log.warn({ requestId, reason: err.reason, detail: err.message }, 'export cut')
          : log.error({ err, requestId }, 'export failed mid-stream'),
      // The slot counts downloads in progress: freed when the body is done (last byte handed over or
      // the client gone), not when COMMIT comes back a moment later — by then the client may already
      // be asking for its next file. The connection's own return to the pool follows within moments.
      onDone: release,
    });
    return c.body(body, 200, headers);
  }

  return [
    route<CsvQuery>({
      method: 'get',
      path: '/exports/scans.csv',
      tag: 'exports',
      summary: 'The filtered scans as CSV (RFC 4180, UTF-8, UTC times), one row per scan, streamed',
      description:
        'Same filters and access rules as GET /scans; a farm, group, animal or device named in the filters that ' +
        'the caller cannot see is a 404. Columns: docs/exports.md. Text cells starting with = + - @ are prefixed ' +
        "with ' so spreadsheets never run them; missing measurements are empty cells, never 0.",
      access: 'user',
      errors: [429],
      query: {
        ...SCAN_FILTER_PARAMS,
        bom: {
          schema: { type: 'boolean', default: false },
          description: 'Start with a UTF-8 byte order mark (helps older Excel read accents).',
        },
      },
      responses: {
        200: {
          description: 'CSV file',
          schema: { type: 'string' },
          contentType: 'text/csv',
          headers: ['Content-Disposition'],
        },
      },
      async handler({ c, principal, query }) {
        const { bom = false, ...filters } = query;
        return respond(c, principal, filters, {
          ext: 'csv',
          type: 'text/csv; charset=utf-8; header=present',
          // Postgres writes the records (csv-sql.ts); the rare row it cannot write exactly comes as JSON.
          query: exportCsvLinesQuery,
          head: (bom ? UTF8_BOM : '') + csvRecord(csvHeader()),
          line: (r) => (r.line === null ? csvRecord(csvCells(parseExportRow(r.row))) : `${r.line}\r\n`),
          tail: '',
        });
      },
    }),
    route<ScanFilters>({
      method: 'get',
      path: '/exports/scans.geojson',
      tag: 'exports',
      summary: 'The filtered scans as a GeoJSON FeatureCollection (RFC 7946), one feature per scan, streamed',
      description:
        'A Point [longitude, latitude] per scan (null geometry without GPS); properties as the CSV columns, ' +
        'with null for missing values. Same filters and access rules as the CSV export.',
      access: 'user',
      errors: [429],
      query: SCAN_FILTER_PARAMS,
      responses: {
        200: {
          description: 'GeoJSON FeatureCollection',
          schema: featureCollectionSchema,
          contentType: 'application/geo+json',
          headers: ['Content-Disposition'],
        },
      },
      async handler({ c, principal, query }) {
        return respond(c, principal, query, {
          ext: 'geojson',
          type: 'application/geo+json',
          // Postgres writes the features (geojson-sql.ts); the rare row it cannot write exactly comes as JSON.
          query: exportGeoJsonLinesQuery,
          head: '{"type":"FeatureCollection","features":[\n',
          line: (r, i) =>
            (i === 0 ? '' : ',\n') +
            (r.line === null ? JSON.stringify(geoJsonFeature(parseExportRow(r.row))) : r.line),
          tail: '\n]}\n',
        });
      },
    }),
  ];
}
