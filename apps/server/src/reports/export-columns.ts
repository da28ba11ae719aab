import type { Db, Fragment } from '../access/farm-access.ts';
import { booleanCell, numberCell, textCell } from './csv.ts';
import { sqlBooleanCell, sqlListCell, sqlTextCell } from './csv-sql.ts';
import type { ExportRow } from './export-query.ts';
import { sqlNumberText, sqlNumberWritable } from './export-sql.ts';
import {
  sqlJsonBoolean,
  sqlJsonList,
  sqlJsonNumber,
  sqlJsonObject,
  sqlJsonPlainString,
  sqlJsonString,
} from './geojson-sql.ts';

/** `id`: a uuid — text that never starts like a formula nor needs quoting. */
type Kind = 'id' | 'text' | 'number' | 'time' | 'boolean' | 'list';

/** One column of the CSV export (and one property of each GeoJSON feature): docs/exports.md lists them. */
export type ExportColumn = {
  name: string;
  kind: Kind;
  value: (r: ExportRow) => string | number | boolean | readonly string[] | null;
  /** The same value in SQL, from the export statement's row `r` (exportRowsQuery's columns). */
  sqlValue: (sql: Db) => Fragment;
};

/** A column whose value is the row's `field` as it is. */
const col = (name: string, kind: Kind, field: keyof ExportRow): ExportColumn => ({
  name,
  kind,
  value: (r) => r[field],
  sqlValue: (sql) => sql`r.${sql(field)}`,
});

/** The exported columns, in file order. Renaming or removing one breaks people's spreadsheets: only add. */
export const EXPORT_COLUMNS: readonly ExportColumn[] = [
  col('scan_id', 'id', 'id'),
  col('scan_ref', 'text', 'scan_ref'),
  col('capture_id', 'text', 'capture_id'),
  col('captured_at', 'time', 'captured_at'),
  col('received_at', 'time', 'received_at'),
  col('status', 'text', 'status'),
  col('farm_id', 'id', 'farm_id'),
  col('farm_name', 'text', 'farm_name'),
  col('device_code', 'text', 'device_code'),
  col('device_label', 'text', 'device_label'),
  col('animal_id', 'id', 'animal_id'),
  col('animal_tag_id', 'text', 'animal_tag_id'),
  col('animal_eid', 'text', 'animal_eid'),
  col('animal_sex', 'text', 'animal_sex'),
  col('animal_breed', 'text', 'animal_breed'),
  col('animal_birth_date', 'text', 'animal_birth_date'),
  col('latitude', 'number', 'latitude'),
  col('longitude', 'number', 'longitude'),
  col('grade', 'text', 'grade'),
  {
    name: 'grade_reasons',
    kind: 'list',
    // A graded scan's reasons, none as an empty cell; no cell without a grading result.
    value: (r) => (r.grading_id === null ? null : (r.grade_reasons ?? [])),
    sqlValue: (sql) => sql`CASE WHEN r.grading_id IS NOT NULL THEN coalesce(r.grade_reasons, '{}') END`,
  },
  col('rea_cm2', 'number', 'rea_cm2'),
  col('fat_thickness_mm', 'number', 'fat_thickness_mm'),
  col('confidence', 'number', 'confidence'),
  col('model_name', 'text', 'model_name'),
  col('model_version', 'text', 'model_version'),
  col('graded_at', 'time', 'graded_at'),
  col('corrected_by_hand', 'boolean', 'manual'),
  col('review_label', 'text', 'review_label'),
  col('review_clarity', 'number', 'review_clarity'),
  col('review_usability', 'text', 'review_usability'),
];

/** A cell for a value of `kind`: text neutralised against formulas, numbers as numbers, empty when missing. */
function cell(kind: Kind, value: ReturnType<ExportColumn['value']>): string {
  if (value === null || value === undefined) return '';
  switch (kind) {
    case 'number':
      return numberCell(value as number);
    case 'boolean':
      return booleanCell(value as boolean);
    case 'list':
      return textCell((value as readonly string[]).join(';'));
    default:
      // UTC times are ours (digits first); still text, so they take the same path as names.
      return textCell(String(value));
  }
}

export const csvHeader = (): string[] => EXPORT_COLUMNS.map((c) => c.name);

export const csvCells = (row: ExportRow): string[] => EXPORT_COLUMNS.map((c) => cell(c.kind, c.value(row)));

const SQL_CELLS: Record<Kind, (sql: Db, value: Fragment) => Fragment> = {
  // textCell leaves a uuid's text as it is: no test per row (uuid_out twice) for what cannot happen.
  id: (sql, value) => sql`${value}::text`,
  text: sqlTextCell,
  time: sqlTextCell,
  number: sqlNumberText,
  boolean: sqlBooleanCell,
  list: sqlListCell,
};

/** Whether every number of the export statement's row `r` is one Postgres writes as JavaScript does. */
function sqlNumbersWritable(sql: Db): Fragment {
  return EXPORT_COLUMNS.filter((c) => c.kind === 'number')
    .map((c) => sqlNumberWritable(sql, c.sqlValue(sql)))
    .reduce((acc, n) => sql`${acc} AND ${n}`);
}

/**
 * `csvCells` in SQL (csv-sql.ts): each column's cell from the export statement's row `r`, and whether
 * every number of the row is one Postgres writes as csv.ts does.
 */
export function sqlCsvCells(sql: Db): { cells: Fragment[]; writable: Fragment } {
  return {
    cells: EXPORT_COLUMNS.map((c) => SQL_CELLS[c.kind](sql, c.sqlValue(sql))),
    writable: sqlNumbersWritable(sql),
  };
}

/** Columns a feature has as its geometry, not among its properties. */
const IN_GEOMETRY = new Set(['latitude', 'longitude']);

const SQL_JSON: Record<Kind, (sql: Db, value: Fragment) => Fragment> = {
  id: sqlJsonPlainString,
  text: sqlJsonString,
  // isoUtc's text: digits, `-`, `:`, `.`, `T` and `Z`.
  time: sqlJsonPlainString,
  number: sqlJsonNumber,
  boolean: sqlJsonBoolean,
  list: sqlJsonList,
};

/**
 * `JSON.stringify(geoJsonFeature(r))` in SQL (geojson-sql.ts), from the export statement's row `r`,
 * or NULL when a number of the row is one Postgres writes otherwise (the row then goes to Node).
 */
export function sqlGeoJsonFeature(sql: Db): Fragment {
  const lon = sql`r.longitude`;
  const lat = sql`r.latitude`;
  const point = sql`CASE WHEN ${lon} IS NULL OR ${lat} IS NULL THEN 'null'
    ELSE concat('{"type":"Point","coordinates":[', ${sqlJsonNumber(sql, lon)}, ',', ${sqlJsonNumber(sql, lat)}, ']}') END`;
  const properties = sqlJsonObject(
    sql,
    EXPORT_COLUMNS.filter((c) => !IN_GEOMETRY.has(c.name)).map(
      (c) => [c.name, SQL_JSON[c.kind](sql, c.sqlValue(sql))] as const,
    ),
  );
  const feature = sqlJsonObject(sql, [
    ['type', sql`'"Feature"'`],
    ['id', sqlJsonPlainString(sql, sql`r.id`)],
    ['geometry', point],
    ['properties', properties],
  ]);
  return sql`CASE WHEN ${sqlNumbersWritable(sql)} THEN ${feature} END`;
}

/**
 * One RFC 7946 Feature: a Point [longitude, latitude] (WGS 84), or a null geometry for a scan without
 * GPS, so the file still has one feature per scan; the properties are the CSV columns with JSON types
 * (numbers, booleans, arrays, null for missing — never 0).
 */
export function geoJsonFeature(row: ExportRow) {
  const properties: Record<string, unknown> = {};
  for (const c of EXPORT_COLUMNS) {
    if (IN_GEOMETRY.has(c.name)) continue;
    properties[c.name] = c.value(row) ?? null;
  }
  const point =
    row.longitude === null || row.latitude === null
      ? null
      : { type: 'Point', coordinates: [row.longitude, row.latitude] };
  return { type: 'Feature', id: row.id, geometry: point, properties };
}
