import type { ScanListRow } from '../../access/scan-list-query.ts';
import type { UrlSigner } from '../../storage/url-signer.ts';
import { reasonText } from '../components/grade-reasons.ts';
import type { Grade, ScanRow, ScanStatus } from '../view-types.ts';
import { farmZone } from './page-kit.tsx';

// Grade reasons that explain why no cm²/mm figure exists, in the order they are told.
const MEASURE_BLOCKERS = [
  'no_spacing',
  'spacing_implausible',
  'spacing_conflict',
  'not_a_ribeye_view',
  'ribeye_cut_off',
];

/**
 * Why a measurement is missing ("—" is never shown without it): the grading result's own words when it
 * gives them (`features_used.missing_reasons[key]` or `<key>_missing_reason`), else a grade reason that
 * rules measuring out, else what the scan's status says. Undefined when the scan is simply not graded
 * yet (the components say "not graded yet" themselves).
 */
export function missingReason(
  status: string,
  gradeReasons: readonly string[] | null | undefined,
  features?: Record<string, unknown> | null,
  key?: string,
): string | undefined {
  if (features && key) {
    const map = features.missing_reasons;
    const own =
      (map && typeof map === 'object' ? (map as Record<string, unknown>)[key] : undefined) ??
      features[`${key}_missing_reason`];
    if (typeof own === 'string' && own.trim()) return reasonText(own.trim());
    if (features.pixel_spacing_source === 'none' && key !== 'roi_area_px') return 'no pixel spacing';
  }
  const blocker = MEASURE_BLOCKERS.find((r) => gradeReasons?.includes(r));
  if (blocker) return reasonText(blocker);
  if (status === 'error') return 'grading failed';
  if (status === 'graded') return 'not measured';
  return undefined;
}

const asGrade = (g: string | null): Grade | null => (g === 'A' || g === 'M' || g === 'R' ? g : null);

/**
 * Where a list thumbnail loads from: the access-checked redirector, which mints a fresh presigned URL
 * on every request. Thumbnails are lazy-loaded (and live rows arrive later still), so a URL presigned
 * at render (TTL ≤ 5 min) would often be expired by the time the browser asks for it.
 */
export const assetContentPath = (assetId: string) => `/api/v1/assets/${assetId}/content`;

/** A scans-list row for the page (and for a live event): local time of the farm, a thumbnail via the redirector. */
export async function toScanRow(row: ScanListRow, signer: UrlSigner | undefined): Promise<ScanRow> {
  // Without S3 settings the redirector answers 503: show "no image" rather than a broken one.
  const thumb = signer && row.image_asset_id && row.image_key ? assetContentPath(row.image_asset_id) : null;
  const missing = row.rea_cm2 === null || row.fat_thickness_mm === null;
  return {
    id: row.id,
    captureId: row.capture_id,
    capturedAt: row.captured_at,
    farmTz: farmZone(row.farm_location),
    status: row.status as ScanStatus,
    grade: asGrade(row.grade),
    gradeReasons: row.grade_reasons ?? [],
    reaCm2: row.rea_cm2,
    fatMm: row.fat_thickness_mm,
    missingReason: missing ? missingReason(row.status, row.grade_reasons) : undefined,
    confidence: row.confidence,
    thumbUrl: thumb,
    farmName: row.farm_name ?? undefined,
    animalTag: row.animal_tag_id,
    deviceCode: row.device_code,
  };
}
