import type { Db, Fragment } from '../access/farm-access.ts';
import type { ScanDetailRow } from '../access/scan-detail-query.ts';
import { isoUtc } from '../access/sql-fragments.ts';
import type { UrlSigner } from '../storage/url-signer.ts';
import type { JsonSchema } from './api-route.ts';
import { assetView } from './asset-views.ts';
import { dateTime, nullable, object, ref, uuid } from './common-schemas.ts';

const gps = nullable(object({ lat: { type: 'number' }, lon: { type: 'number' } }));
const review = object({
  label: { type: ['string', 'null'] },
  clarity: { type: ['integer', 'null'], minimum: 1, maximum: 5 },
  usability: { type: ['string', 'null'], enum: ['usable', 'marginal', 'unusable', null] },
  reviewed_at: nullable(dateTime),
});
/** The fields list items and the detail share. */
const scanCore: Record<string, JsonSchema> = {
  scan_ref: { type: ['string', 'null'], description: 'Human-readable reference {device_code}.{capture_id}.' },
  capture_id: { type: 'string' },
  captured_at: nullable(dateTime),
  created_at: nullable(dateTime),
  status: { type: 'string', enum: ['uploaded', 'ingested', 'graded', 'error'] },
  device: object({ id: uuid, device_code: { type: 'string' }, label: { type: ['string', 'null'] } }),
  farm: nullable(object({ id: uuid, name: { type: 'string' } })),
};
/** Missing measurements are null, never 0. */
const measurement = { type: ['number', 'null'] };

export const scanListItemSchema: JsonSchema = object({
  id: uuid,
  ...scanCore,
  animal: nullable(object({ id: uuid, tag_id: { type: 'string' } })),
  animal_eid: { type: ['string', 'null'] },
  gps,
  review,
  image_asset_id: nullable(uuid),
  latest_grading: nullable(
    object({
      id: uuid,
      grade: { type: ['string', 'null'], enum: ['A', 'M', 'R', null] },
      grade_reasons: { type: 'array', items: { type: 'string' } },
      confidence: measurement,
      model_name: { type: 'string' },
      model_version: { type: 'string' },
      manual: { type: 'boolean', description: 'true for a correction by hand (created_by is a user).' },
      created_at: nullable(dateTime),
      rea_cm2: measurement,
      fat_thickness_mm: measurement,
    }),
  ),
});

/**
 * A list item (scanListItemSchema) as JSON written by Postgres, for scanListJsonQuery: scans `s`,
 * devices `d`, farms `f`, animals `a`, latest grading `lg`. Same values as the row mapping it replaced
 * (scan-views.test.ts compares them): a missing farm or animal name is '', a missing measure is null.
 * The two measures come from the scan row (migration 0010 keeps them equal to the latest result's),
 * not from parsing features_used for every item.
 */
export const scanListItemJson = (sql: Db): Fragment => sql`json_build_object(
    'id', s.id, 'scan_ref', s.scan_id, 'capture_id', s.capture_id,
    'captured_at', ${isoUtc(sql, sql`s.captured_at`)}, 'created_at', ${isoUtc(sql, sql`s.created_at`)},
    'status', s.status,
    'device', json_build_object('id', s.device_id, 'device_code', d.device_code, 'label', d.label),
    'farm', CASE WHEN s.farm_id IS NOT NULL THEN json_build_object('id', s.farm_id, 'name', coalesce(f.name, '')) END,
    'animal', CASE WHEN a.id IS NOT NULL THEN json_build_object('id', a.id, 'tag_id', coalesce(a.tag_id, '')) END,
    'animal_eid', s.animal_eid,
    'gps', CASE WHEN s.gps IS NOT NULL THEN json_build_object('lat', ST_Y(s.gps), 'lon', ST_X(s.gps)) END,
    'review', json_build_object('label', s.review_label, 'clarity', s.review_clarity,
                                'usability', s.review_usability, 'reviewed_at', ${isoUtc(sql, sql`s.reviewed_at`)}),
    'image_asset_id', s.image_asset_id,
    'latest_grading', CASE WHEN lg.id IS NOT NULL THEN json_build_object(
      'id', lg.id, 'grade', lg.grade, 'grade_reasons', coalesce(to_json(lg.grade_reasons), '[]'::json),
      'confidence', lg.confidence::float8, 'model_name', coalesce(lg.model_name, ''),
      'model_version', coalesce(lg.model_version, ''), 'manual', lg.created_by IS NOT NULL,
      'created_at', ${isoUtc(sql, sql`lg.created_at`)},
      'rea_cm2', s.latest_rea_cm2, 'fat_thickness_mm', s.latest_fat_thickness_mm) END)`;

/** Measurement keys the dashboard shows, from features_used; a missing or JSON-null value stays null. */
export const MEASUREMENT_KEYS = [
  'rea_cm2',
  'fat_thickness_mm',
  'ribeye_width_mm',
  'ribeye_depth_mm',
  'roi_area_px',
  'mean_intensity',
  'texture_glcm_contrast',
  'pixel_spacing_mm',
  'pixel_aspect',
] as const;

function measurements(features: Record<string, unknown> | null) {
  return Object.fromEntries(
    MEASUREMENT_KEYS.map((k) => {
      const v = features?.[k];
      return [k, typeof v === 'number' && Number.isFinite(v) ? v : null];
    }),
  );
}

const asset = ref('Asset');
export const gradingResultSchema: JsonSchema = object({
  id: uuid,
  model_name: { type: 'string' },
  model_version: { type: 'string' },
  inference_sha256: { type: ['string', 'null'] },
  manual: { type: 'boolean' },
  created_by: nullable(
    object({ id: uuid, full_name: { type: ['string', 'null'] }, email: { type: 'string' } }),
  ),
  created_at: nullable(dateTime),
  grade: { type: ['string', 'null'], enum: ['A', 'M', 'R', null] },
  grade_reasons: { type: 'array', items: { type: 'string' } },
  confidence: measurement,
  confidence_breakdown: { type: ['object', 'null'] },
  features_used: {
    type: ['object', 'null'],
    description: 'As stored; a missing measure is JSON null, never 0.',
  },
  measurements: object(Object.fromEntries(MEASUREMENT_KEYS.map((k) => [k, measurement]))),
  assets: { type: 'array', items: asset },
});

export const scanDetailSchema: JsonSchema = object({
  id: uuid,
  ...scanCore,
  ingest_key: { type: 'string' },
  animal: nullable(object({ id: uuid, tag_id: { type: 'string' }, eid: { type: ['string', 'null'] } })),
  animal_eid: { type: ['string', 'null'] },
  operator_code: { type: ['string', 'null'] },
  operator: nullable(object({ id: uuid, full_name: { type: ['string', 'null'] } })),
  gps,
  review: object({
    label: { type: ['string', 'null'] },
    clarity: { type: ['integer', 'null'] },
    usability: { type: ['string', 'null'] },
    reviewed_at: nullable(dateTime),
    reviewed_by: nullable(object({ id: uuid, full_name: { type: ['string', 'null'] } })),
  }),
  image: nullable(asset),
  mask: nullable(asset),
  events: {
    type: 'array',
    items: object({
      id: { type: 'integer' },
      event: { type: 'string' },
      meta: {},
      created_at: nullable(dateTime),
    }),
  },
  latest_grading_id: nullable(uuid),
  grading_results: { type: 'array', items: ref('GradingResult'), description: 'Every result, newest first.' },
  can_edit: { type: 'boolean', description: 'Whether the caller may change review fields, animal or farm.' },
});

export async function toScanDetail(r: ScanDetailRow, signer: UrlSigner | undefined) {
  const results = await Promise.all(
    r.grading_results.map(async (g) => ({
      id: g.id,
      model_name: g.model_name,
      model_version: g.model_version,
      inference_sha256: g.inference_sha256,
      manual: g.created_by !== null,
      created_by: g.created_by,
      created_at: g.created_at,
      grade: g.grade,
      grade_reasons: g.grade_reasons ?? [],
      confidence: g.confidence,
      confidence_breakdown: g.confidence_breakdown,
      features_used: g.features_used,
      measurements: measurements(g.features_used),
      assets: await Promise.all(g.assets.map((a) => assetView(a, a.role, signer))),
    })),
  );
  return {
    id: r.id,
    scan_ref: r.scan_ref,
    capture_id: r.capture_id,
    ingest_key: r.ingest_key,
    captured_at: r.captured_at,
    created_at: r.created_at,
    status: r.status,
    device: r.device,
    farm: r.farm,
    animal: r.animal,
    animal_eid: r.animal_eid,
    operator_code: r.operator_code,
    operator: r.operator,
    gps: r.gps,
    review: {
      label: r.review_label,
      clarity: r.review_clarity,
      usability: r.review_usability,
      reviewed_at: r.reviewed_at,
      reviewed_by: r.reviewed_by,
    },
    image: r.image ? await assetView(r.image, 'image', signer) : null,
    mask: r.mask ? await assetView(r.mask, 'mask', signer) : null,
    events: r.events,
    latest_grading_id: results[0]?.id ?? null,
    grading_results: results,
    can_edit: r.can_write,
  };
}
