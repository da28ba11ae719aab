// Builders for the spec's example documents (§5.2 meta.json, §5.3 webhook body), for tests in any
// package. The spec's placeholder hashes are replaced by real sha256 digests of fixed strings
// (e.g. sha256('cti example image.jpg')); fixtures/*.json hold the same documents as files.
import type { MetaJson } from './meta.ts';
import { rawCaptureDir } from './s3-layout.ts';
import type { WebhookBody } from './webhook-body.ts';

export const EXAMPLE_BUCKET = 'cti-dev-406214277746';
/** sha256('cti example image.jpg') */
export const EXAMPLE_IMAGE_SHA256 = '48745bb72912660dff5fcb986913ab35cf616469b3748a6695aca3e2e9e0b9e6';
/** sha256('cti example mask.png'), for tests that add a mask */
export const EXAMPLE_MASK_SHA256 = '61b9e33609675482f7773ac73ef0e8e3f67ca32533ef5fe2ae72d08838c2f5ec';

const EXAMPLE_META = {
  meta_version: '1.0.0',
  device_code: 'dev-0001',
  capture_id: 'cap_1757423584',
  captured_at: '2025-09-09T14:18:32Z',
  operator_id: 'tech-abc',
  farm_id: null,
  gps: { lat: 43.6532, lon: -79.3832 },
  probe: { model: 'Convex-3.5MHz', frequency_mhz: 3.5 },
  firmware: { pi_os: 'Bookworm-2025-07-01', app_version: '0.3.2' },
  image_sha256: EXAMPLE_IMAGE_SHA256,
  mask_sha256: null,
  files: { image_relpath: 'image.jpg', mask_relpath: null, extra: [] },
  inference_summary: { ribeye_bbox: [120, 88, 420, 300], mask_iou_hint: 0.76 },
} satisfies MetaJson;

/**
 * The spec's §5.2 example meta.json (valid), as a fresh object; top-level fields can be overridden.
 *
 * @example const meta = exampleMeta({ capture_id: 'cap_2', gps: null });
 */
export function exampleMeta(overrides: Partial<MetaJson> & Record<string, unknown> = {}): MetaJson {
  return { ...structuredClone(EXAMPLE_META), ...structuredClone(overrides) } as MetaJson;
}

/**
 * The spec's §5.3 example webhook body (valid). `ingest_key`, `device_code` and `objects` follow
 * `meta_json` (so `exampleWebhookBody({ meta_json: exampleMeta({ capture_id: 'cap_2' }) })` is still
 * valid) unless overridden themselves.
 *
 * @example const body = exampleWebhookBody({ bucket: 'test-bucket' });
 */
export function exampleWebhookBody(
  overrides: Partial<WebhookBody> & Record<string, unknown> = {},
): WebhookBody {
  const meta = structuredClone(overrides.meta_json ?? exampleMeta());
  const files = [meta.files.image_relpath, meta.files.mask_relpath ?? null, ...(meta.files.extra ?? [])];
  return {
    bucket: EXAMPLE_BUCKET,
    ingest_key: rawCaptureDir({
      deviceCode: meta.device_code,
      capturedAt: meta.captured_at,
      captureId: meta.capture_id,
    }),
    device_code: meta.device_code,
    objects: [...files.filter((f): f is string => f !== null), 'meta.json'],
    ...structuredClone(overrides),
    meta_json: meta,
  };
}
