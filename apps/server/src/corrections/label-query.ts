import type { Sql } from 'postgres';
import { isoUtc } from '../access/sql-fragments.ts';

/** Which corrections to export. */
export type LabelSelection = {
  /** Only corrections made at or after this instant. */
  since?: Date;
  /** Only scans of this farm. */
  farmId?: string;
  /** Every correction by hand; default only the newest of each scan. */
  allCorrections: boolean;
};

type AssetJson = {
  bucket: string;
  key: string;
  sha256: string;
  size_bytes: number | null;
  mime_type: string | null;
};

/** One correction by hand with everything its label needs. */
export type CorrectionRow = {
  result_id: string;
  created_at: string;
  /** The person as a pseudonymous id and their roles: no email or name travels with training data. */
  created_by: { id: string; roles: string[] } | null;
  model_version: string;
  grade: string | null;
  grade_reasons: string[] | null;
  features_used: Record<string, unknown> | null;
  scan_id: string;
  scan_ref: string | null;
  capture_id: string;
  captured_at: string | null;
  farm_id: string | null;
  device_code: string;
  image: AssetJson | null;
  mask: AssetJson | null;
  model_result: {
    id: string;
    model_name: string;
    model_version: string;
    inference_sha256: string | null;
    created_at: string;
  } | null;
};

/**
 * The selected corrections by hand (`grading_results.model_name = 'manual'`), oldest first: the scan's
 * image asset, the correction's mask asset (`grading_result_assets` role `mask`), the person, and the
 * model result at the root of the chain of corrections (`features_used.lineage.model_result_id`).
 * Model results are never selected: their masks are what the corrections correct, not labels.
 */
export function selectCorrections(sql: Sql, s: LabelSelection) {
  const asset = (alias: string) =>
    sql`json_build_object('bucket', ${sql(alias)}.bucket, 'key', ${sql(alias)}.object_key,
          'sha256', trim(${sql(alias)}.sha256), 'size_bytes', ${sql(alias)}.size_bytes, 'mime_type', ${sql(alias)}.mime_type)`;
  return sql<CorrectionRow[]>`
    SELECT g.id AS result_id, ${isoUtc(sql, sql`g.created_at`)} AS created_at,
           CASE WHEN u.id IS NULL THEN NULL
                ELSE json_build_object('id', u.id, 'roles',
                       (SELECT coalesce(json_agg(r.name ORDER BY r.name), '[]') FROM user_roles ur
                          JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id)) END AS created_by,
           g.model_version, g.grade, g.grade_reasons, g.features_used,
           s.id AS scan_id, s.scan_id AS scan_ref, s.capture_id, ${isoUtc(sql, sql`s.captured_at`)} AS captured_at,
           s.farm_id, d.device_code,
           CASE WHEN img.id IS NULL THEN NULL ELSE ${asset('img')} END AS image,
           (SELECT ${asset('m')} FROM grading_result_assets gra JOIN assets m ON m.id = gra.asset_id
             WHERE gra.grading_result_id = g.id AND gra.role = 'mask' ORDER BY m.id LIMIT 1) AS mask,
           (SELECT json_build_object('id', mr.id, 'model_name', mr.model_name, 'model_version', mr.model_version,
                     'inference_sha256', mr.inference_sha256, 'created_at', ${isoUtc(sql, sql`mr.created_at`)})
              FROM grading_results mr
             WHERE mr.scan_id = g.scan_id AND mr.id::text = g.features_used -> 'lineage' ->> 'model_result_id') AS model_result
      FROM grading_results g
      JOIN scans s ON s.id = g.scan_id
      JOIN devices d ON d.id = s.device_id
      LEFT JOIN users u ON u.id = g.created_by
      LEFT JOIN assets img ON img.id = s.image_asset_id
     WHERE g.model_name = 'manual'
       ${s.since ? sql`AND g.created_at >= ${s.since}` : sql``}
       ${s.farmId ? sql`AND s.farm_id = ${s.farmId}` : sql``}
       ${
         s.allCorrections
           ? sql``
           : sql`AND NOT EXISTS (SELECT 1 FROM grading_results n WHERE n.scan_id = g.scan_id AND n.model_name = 'manual'
                                   AND (n.created_at, n.id) > (g.created_at, g.id))`
       }
     ORDER BY g.created_at, g.id`;
}
