import { extname } from 'node:path';
import type { CorrectionRow } from './label-query.ts';

export const LABEL_FORMAT = 'cti-label-1';

/** A correction whose image and mask are recorded (the others cannot be exported). */
export type ExportableRow = CorrectionRow & {
  image: NonNullable<CorrectionRow['image']>;
  mask: NonNullable<CorrectionRow['mask']>;
};

/** `image.png`, `image.jpg`… after the object's own extension (the bytes are the object's). */
export function imageFileName(key: string): string {
  const ext = extname(key).toLowerCase();
  return /^\.[a-z0-9]{1,5}$/.test(ext) ? `image${ext}` : 'image.bin';
}

const num = (f: Record<string, unknown> | null, k: string) =>
  typeof f?.[k] === 'number' ? (f[k] as number) : null;
const str = (f: Record<string, unknown> | null, k: string) =>
  typeof f?.[k] === 'string' ? (f[k] as string) : null;

const modelOf = (r: CorrectionRow) =>
  r.model_result ? `${r.model_result.model_name}@${r.model_result.model_version}` : null;
const basedOn = (r: CorrectionRow) => {
  const lineage = r.features_used?.lineage as Record<string, unknown> | undefined;
  return typeof lineage?.based_on_result_id === 'string' ? lineage.based_on_result_id : null;
};

/**
 * label.json of one pair: the lineage, deterministic (no export time), so re-runs write the same
 * bytes and a pair already there is recognised by its sha256.
 */
export function labelJson(r: ExportableRow): string {
  const f = r.features_used ?? {};
  const label = {
    format: LABEL_FORMAT,
    result_id: r.result_id,
    model_name: 'manual',
    model_version: r.model_version,
    created_by: r.created_by,
    created_at: r.created_at,
    scan_id: r.scan_id,
    scan_ref: r.scan_ref,
    capture_id: r.capture_id,
    device_code: r.device_code,
    farm_id: r.farm_id,
    captured_at: r.captured_at,
    image: {
      file: imageFileName(r.image.key),
      sha256: r.image.sha256,
      size_bytes: r.image.size_bytes,
      mime_type: r.image.mime_type,
      source: `s3://${r.image.bucket}/${r.image.key}`,
      width: num(f, 'image_width_px'),
      height: num(f, 'image_height_px'),
    },
    mask: {
      file: 'mask.png',
      sha256: r.mask.sha256,
      size_bytes: r.mask.size_bytes,
      source: `s3://${r.mask.bucket}/${r.mask.key}`,
      encoding: 'PNG, 8-bit gray, same size as the image: 255 = ribeye, 0 = background',
    },
    based_on_result_id: basedOn(r),
    model_result: r.model_result,
    pixel_spacing_mm: num(f, 'pixel_spacing_mm'),
    pixel_spacing_source: str(f, 'pixel_spacing_source'),
    pixel_aspect: num(f, 'pixel_aspect'),
    pixel_aspect_source: str(f, 'pixel_aspect_source'),
    fat_line: f.fat_line ?? null,
    fat_thickness_source: f.fat_thickness_source ?? null,
    grade: r.grade,
    grade_reasons: r.grade_reasons ?? [],
    measurements: {
      roi_area_px: num(f, 'roi_area_px'),
      rea_cm2: num(f, 'rea_cm2'),
      fat_thickness_mm: num(f, 'fat_thickness_mm'),
      fat_thickness_px: num(f, 'fat_thickness_px'),
    },
    features_used: r.features_used,
  };
  return `${JSON.stringify(label, null, 2)}\n`;
}

/** One manifest.jsonl line: where the pair's files are, their sha256, and the lineage in brief. */
export function manifestLine(r: ExportableRow, labelSha256: string): string {
  const dir = r.result_id;
  return JSON.stringify({
    result_id: r.result_id,
    model_name: 'manual',
    created_by: r.created_by?.id ?? null,
    created_at: r.created_at,
    scan_id: r.scan_id,
    capture_id: r.capture_id,
    based_on_result_id: basedOn(r),
    model: modelOf(r),
    pixel_spacing_mm: num(r.features_used, 'pixel_spacing_mm'),
    pixel_spacing_source: str(r.features_used, 'pixel_spacing_source'),
    pixel_aspect: num(r.features_used, 'pixel_aspect'),
    pixel_aspect_source: str(r.features_used, 'pixel_aspect_source'),
    image: { file: `${dir}/${imageFileName(r.image.key)}`, sha256: r.image.sha256 },
    mask: { file: `${dir}/mask.png`, sha256: r.mask.sha256 },
    label: { file: `${dir}/label.json`, sha256: labelSha256 },
  });
}
