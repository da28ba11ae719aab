import { fromIngestKeyUri, META_FILE } from '@cti/contracts';
import type { Sql } from 'postgres';
import { scanSortKey } from '../access/sql-fragments.ts';
import type { StoredObject } from './object-store.ts';

/** A device calibration row that may apply to a scan (chosen once the image size is known). */
export type CalibrationCandidate = {
  id: string;
  /** null: the row fixes no spacing (aspect only, or with no aspect either a withdrawal from valid_from on). */
  pixelSpacingMm: number | null;
  /** A pixel's width ÷ its height the row declares; null: none (square unless meta.json says otherwise). */
  pixelAspect: number | null;
  imageWidth: number | null;
  imageHeight: number | null;
};

/** What grading needs to know about a scan, read in one query. */
export type ScanContext = {
  scanId: string;
  captureId: string;
  farmId: string | null;
  deviceId: string;
  deviceCode: string;
  image: (StoredObject & { mimeType: string | null }) | null;
  /** The capture's own mask (meta.json files.mask_relpath), when it has one. */
  mask: StoredObject | null;
  /** meta.json's asset, when ingest recorded its hash (the relay always sends it). */
  meta: StoredObject | null;
  /**
   * The webhook's meta_json as ingest validated it, kept on the `uploaded` event when meta.json got no
   * asset row (a spec §5.3 body without meta_sha256); null otherwise, and for scans ingested before.
   */
  ingestMeta: unknown;
  /** The device's calibrations valid at capture time, newest first. */
  calibrations: CalibrationCandidate[];
};

type Row = {
  scan_id: string;
  capture_id: string;
  farm_id: string | null;
  device_id: string;
  device_code: string;
  ingest_key: string;
  image_bucket: string | null;
  image_key: string | null;
  image_sha256: string | null;
  image_mime: string | null;
  mask_bucket: string | null;
  mask_key: string | null;
  mask_sha256: string | null;
  meta_sha256: string | null;
  ingest_meta: unknown;
  calibrations:
    | { id: string; mm: string | null; aspect: string | null; w: number | null; h: number | null }[]
    | null;
};

/** Loads the scan, its device, its image asset, meta.json's asset and the device's calibrations (one query). */
export async function loadScanContext(sql: Sql, scanId: string): Promise<ScanContext | null> {
  const [row] = await sql<Row[]>`
    SELECT s.id AS scan_id, s.capture_id, s.farm_id, s.device_id, d.device_code, s.ingest_key,
           a.bucket AS image_bucket, a.object_key AS image_key, a.sha256 AS image_sha256, a.mime_type AS image_mime,
           m.bucket AS mask_bucket, m.object_key AS mask_key, m.sha256 AS mask_sha256,
           mj.sha256 AS meta_sha256,
           (SELECT e.meta->'meta_json' FROM scan_events e WHERE e.scan_id = s.id AND e.event = 'uploaded'
            ORDER BY e.id LIMIT 1) AS ingest_meta,
           (SELECT json_agg(json_build_object('id', c.id::text, 'mm', c.pixel_spacing_mm::text,
                                              'aspect', c.pixel_aspect::text,
                                              'w', c.image_width, 'h', c.image_height)
                            ORDER BY c.valid_from DESC, c.id DESC)
            FROM device_calibrations c
            WHERE c.device_id = s.device_id AND c.valid_from <= ${scanSortKey(sql)}) AS calibrations
    FROM scans s
    JOIN devices d ON d.id = s.device_id
    LEFT JOIN assets a ON a.id = s.image_asset_id
    LEFT JOIN assets m ON m.id = s.mask_asset_id
    -- meta.json beside the image (ingest keys are s3://{bucket}/{dir}): checked against the parsed key below.
    LEFT JOIN assets mj ON mj.bucket = a.bucket
      AND mj.object_key = substr(s.ingest_key, length(a.bucket) + 7) || ${META_FILE}
      AND s.ingest_key = 's3://' || a.bucket || '/' || substr(s.ingest_key, length(a.bucket) + 7)
    WHERE s.id = ${scanId}`;
  if (!row) return null;
  const { bucket, dir } = fromIngestKeyUri(row.ingest_key);
  const metaKey = `${dir}${META_FILE}`;
  // The join looked where the parsed ingest key says (the image's bucket, the key's directory as is);
  // otherwise (an image in another bucket) meta.json's asset is looked up on its own, as before.
  const joined = row.image_bucket === bucket && row.ingest_key.slice(`s3://${bucket}/`.length) === dir;
  const [meta] = joined
    ? row.meta_sha256 === null
      ? []
      : [{ sha256: row.meta_sha256 }]
    : await sql<{ sha256: string }[]>`
        SELECT sha256 FROM assets WHERE bucket = ${bucket} AND object_key = ${metaKey}`;
  return {
    scanId: row.scan_id,
    captureId: row.capture_id,
    farmId: row.farm_id,
    deviceId: row.device_id,
    deviceCode: row.device_code,
    image:
      row.image_bucket && row.image_key && row.image_sha256
        ? {
            bucket: row.image_bucket,
            key: row.image_key,
            sha256: row.image_sha256.trim(),
            mimeType: row.image_mime,
          }
        : null,
    mask:
      row.mask_bucket && row.mask_key && row.mask_sha256
        ? { bucket: row.mask_bucket, key: row.mask_key, sha256: row.mask_sha256.trim() }
        : null,
    meta: meta ? { bucket, key: metaKey, sha256: meta.sha256.trim() } : null,
    ingestMeta: row.ingest_meta ?? null,
    calibrations: (row.calibrations ?? []).map((c) => ({
      id: c.id,
      pixelSpacingMm: c.mm === null ? null : Number(c.mm),
      pixelAspect: c.aspect === null ? null : Number(c.aspect),
      imageWidth: c.w,
      imageHeight: c.h,
    })),
  };
}

/**
 * The calibration grading applies: its row id, the spacing it fixes (null: an aspect-only row — the
 * spacing comes from meta.json or the ruler, and the row is no spacing calibration) and the aspect it
 * declares (null: none). Never both null: a withdrawal applies as no calibration.
 */
export type AppliedCalibration = { id: string; pixelSpacingMm: number | null; pixelAspect: number | null };

/**
 * The calibration for an image of this size: the newest row whose size matches or names none. That row
 * alone applies (an aspect-only row supersedes an older spacing, a withdrawal both); null when it is a
 * withdrawal or there is none.
 */
export function applicableCalibration(
  candidates: CalibrationCandidate[],
  width: number,
  height: number,
): AppliedCalibration | null {
  const row = candidates.find(
    (c) => c.imageWidth === null || (c.imageWidth === width && c.imageHeight === height),
  );
  return row && (row.pixelSpacingMm !== null || row.pixelAspect !== null)
    ? { id: row.id, pixelSpacingMm: row.pixelSpacingMm, pixelAspect: row.pixelAspect }
    : null;
}
