import { decodeScanCursor, type ScanCursor } from '../../access/scan-cursor.ts';
import { SCAN_FILTER_PARAMS, type ScanFilters } from '../../access/scan-filters.ts';
import { compileQuerySchema } from '../../api/request-validation.ts';
import { HttpError } from '../../errors.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { dayProblem, localDayBounds, outOfDayRange } from '../time/format-local.ts';
import type { FieldErrors } from './page-kit.tsx';

/**
 * The filter fields of the scans page, as typed in its form (dates are local calendar days; the
 * animal is its ear tag or EID, resolved to the API's `animal_id` by the page: animalFilterOf).
 */
export const FILTER_FIELDS = [
  'farm_id',
  'device_id',
  'animal',
  'group_id',
  'capture_id',
  'from',
  'to',
  'status',
  'grade',
  'review_label',
  'in_geofence_of',
] as const;
/** The filters that name a row by its uuid (farm, device, group, geofence's farm; an animal's: animalFilterOf). */
const UUID_FIELDS = new Set(
  Object.entries(SCAN_FILTER_PARAMS)
    .filter(([, p]) => p.schema.format === 'uuid')
    .map(([name]) => name),
);
export type FilterValues = Partial<Record<(typeof FILTER_FIELDS)[number], string>>;

export const FILTER_LABELS: Record<string, string> = {
  farm_id: 'Farm',
  device_id: 'Device',
  animal: 'Animal',
  group_id: 'Group',
  capture_id: 'Capture id',
  from: 'From',
  to: 'To',
  status: 'Status',
  grade: 'Grade',
  review_label: 'Review label',
  in_geofence_of: 'Inside the geofence of',
};

export type ParsedFilters = {
  /** The filters as the query layer (and the JSON API) take them; only the valid ones. */
  filters: ScanFilters;
  /** What was typed, to show in the form again. */
  values: FilterValues;
  errors: FieldErrors;
  /** The animal to look up (animalFilterOf); the page sets `filters.animal_id` from it. */
  animal?: AnimalFilter;
  after?: ScanCursor;
  before?: ScanCursor;
};

/** The Animal filter's text (ear tag, EID, or an animal's id) and the animal it named before. */
export type AnimalFilter = { text: string; prefer?: string };

/**
 * The Animal filter of the query: the form's `animal` text when present (sent empty: no filter), else
 * the `animal_id=<uuid>` of a link (the animal page's "All scans"), looked up like typed text. The
 * form sends `animal_id` beside the text too: the animal the text named last time, which it keeps
 * naming while the text is unchanged even if that ear tag is on several of the viewer's farms.
 */
export function animalFilterOf(query: URLSearchParams): AnimalFilter | undefined {
  const id = query.get('animal_id')?.trim() || undefined;
  const prefer = canonicalUuid(id);
  const text = query.has('animal') ? query.get('animal')?.trim() : (prefer ?? id);
  return text ? { text, ...(prefer ? { prefer } : {}) } : undefined;
}

/**
 * The scans page's query string → the same `ScanFilters` the API validates with the same schemas
 * (SCAN_FILTER_PARAMS). `from`/`to` are whole local days in `zone` (the farm's time): from the start of
 * `from` to the end of `to`, so a farmer's "9 September" means their 9 September.
 */
export function parseScanPageQuery(query: URLSearchParams, zone: string): ParsedFilters {
  const values: FilterValues = {};
  const animal = animalFilterOf(query);
  for (const name of FILTER_FIELDS) {
    const v = name === 'animal' ? animal?.text : query.get(name)?.trim();
    // An id as the API reads it (lower case), so the form shows it chosen and the list filters on it;
    // any other text stays as typed, for its error.
    if (v) values[name] = UUID_FIELDS.has(name) ? (canonicalUuid(v) ?? v) : v;
  }
  const errors: FieldErrors = {};
  const api: Record<string, string> = {};
  for (const [name, v] of Object.entries(values)) {
    if (name !== 'from' && name !== 'to' && name !== 'animal') api[name] = v;
  }
  for (const [name, edge] of [
    ['from', 'start'],
    ['to', 'end'],
  ] as const) {
    const day = values[name];
    if (day === undefined) continue;
    // A day the local-day bounds cannot take (0050 read as 1950, the end of 9999-12-31 in year 10000).
    const outside = outOfDayRange(day);
    if (outside) {
      errors[name] = `${FILTER_LABELS[name]} ${outside}.`;
      continue;
    }
    // Not a calendar day (2025-02-30: Date.parse rolls it over to March 2, localDayBounds refuses it).
    if (dayProblem(day)) {
      errors[name] = `${FILTER_LABELS[name]} must be a date (YYYY-MM-DD).`;
      continue;
    }
    api[name] = localDayBounds(day, zone)[edge].toISOString();
  }
  if (values.from && values.to && !errors.from && !errors.to && values.to < values.from) {
    errors.to = 'To must not be before From.';
  }
  const result = compileQuerySchema(SCAN_FILTER_PARAMS)(api);
  if (!result.ok) {
    for (const p of result.problems) {
      const name = p.pointer.replace(/^\//, '').split('/')[0] ?? '';
      errors[name] ??= `${FILTER_LABELS[name] ?? name} ${p.message}.`;
    }
  }
  const filters: ScanFilters = {};
  for (const [name, v] of Object.entries(api)) {
    if (!errors[name]) (filters as Record<string, string>)[name] = v;
  }
  return { filters, values, errors, ...(animal ? { animal } : {}), ...cursors(query, errors) };
}

function cursors(query: URLSearchParams, errors: FieldErrors) {
  const out: { after?: ScanCursor; before?: ScanCursor } = {};
  for (const [param, key] of [
    ['cursor', 'after'],
    ['before', 'before'],
  ] as const) {
    const text = query.get(param);
    if (!text) continue;
    try {
      out[key] = decodeScanCursor(text);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      errors._form = 'That page link is not valid any more; showing the newest scans.';
    }
  }
  return out;
}

/** The filters as the API's query string (ISO instants), e.g. for the live event stream's URL. */
export function apiQueryOf(filters: ScanFilters): string {
  return new URLSearchParams(
    Object.entries(filters).filter(([, v]) => v !== undefined) as [string, string][],
  ).toString();
}
