import { booleanCell, numberCell, textCell } from './csv.ts';
import type { ExportRow } from './export-query.ts';

type Kind = 'text' | 'number' | 'time' | 'boolean' | 'list';

/** One column of the CSV export (and one property of each GeoJSON feature): docs/exports.md lists them. */
export type ExportColumn = {
  name: string;
  kind: Kind;
  value: (r: ExportRow) => string | number | boolean | readonly string[] | null;
};

const col = (name: string, kind: Kind, value: ExportColumn['value']): ExportColumn => ({ name, kind, value });

/** The exported columns, in file order. Renaming or removing one breaks people's spreadsheets: only add. */
export const EXPORT_COLUMNS: readonly ExportColumn[] = [
  col('scan_id', 'text', (r) => r.id),
  col('scan_ref', 'text', (r) => r.scan_ref),
  col('capture_id', 'text', (r) => r.capture_id),
  col('captured_at', 'time', (r) => r.captured_at),
  col('received_at', 'time', (r) => r.received_at),
  col('status', 'text', (r) => r.status),
  col('farm_id', 'text', (r) => r.farm_id),
  col('farm_name', 'text', (r) => r.farm_name),
  col('device_code', 'text', (r) => r.device_code),
  col('device_label', 'text', (r) => r.device_label),
  col('animal_id', 'text', (r) => r.animal_id),
  col('animal_tag_id', 'text', (r) => r.animal_tag_id),
  col('animal_eid', 'text', (r) => r.animal_eid),
  col('animal_sex', 'text', (r) => r.animal_sex),
  col('animal_breed', 'text', (r) => r.animal_breed),
  col('animal_birth_date', 'text', (r) => r.animal_birth_date),
  col('latitude', 'number', (r) => r.latitude),
  col('longitude', 'number', (r) => r.longitude),
  col('grade', 'text', (r) => r.grade),
  col('grade_reasons', 'list', (r) => (r.grading_id === null ? null : (r.grade_reasons ?? []))),
  col('rea_cm2', 'number', (r) => r.rea_cm2),
  col('fat_thickness_mm', 'number', (r) => r.fat_thickness_mm),
  col('confidence', 'number', (r) => r.confidence),
  col('model_name', 'text', (r) => r.model_name),
  col('model_version', 'text', (r) => r.model_version),
  col('graded_at', 'time', (r) => r.graded_at),
  col('corrected_by_hand', 'boolean', (r) => r.manual),
  col('review_label', 'text', (r) => r.review_label),
  col('review_clarity', 'number', (r) => r.review_clarity),
  col('review_usability', 'text', (r) => r.review_usability),
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

/**
 * One RFC 7946 Feature: a Point [longitude, latitude] (WGS 84), or a null geometry for a scan without
 * GPS, so the file still has one feature per scan; the properties are the CSV columns with JSON types
 * (numbers, booleans, arrays, null for missing — never 0).
 */
export function geoJsonFeature(row: ExportRow) {
  const properties: Record<string, unknown> = {};
  for (const c of EXPORT_COLUMNS) {
    if (c.name === 'latitude' || c.name === 'longitude') continue;
    properties[c.name] = c.value(row) ?? null;
  }
  const point =
    row.longitude === null || row.latitude === null
      ? null
      : { type: 'Point', coordinates: [row.longitude, row.latitude] };
  return { type: 'Feature', id: row.id, geometry: point, properties };
}
