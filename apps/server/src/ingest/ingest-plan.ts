import { META_FILE, mimeTypeForFile, toIngestKeyUri, type WebhookBody } from '@cti/contracts';
import { type CaptureTime, captureTime } from './capture-time.ts';
import { webhookContentSha256 } from './ingest-content-hash.ts';

export type AssetRole = 'image' | 'mask' | 'meta' | 'extra';

/** One object of the capture directory that gets an `assets` row. */
export type PlannedAsset = {
  objectKey: string;
  sha256: string;
  sizeBytes: number | null;
  mimeType: string;
  role: AssetRole;
};

/** Everything the ingest transaction writes, derived from a validated webhook body. */
export type IngestPlan = {
  /** `s3://{bucket}/raw/…/{capture_id}/`, the scans.ingest_key idempotency key. */
  ingestKey: string;
  bucket: string;
  deviceCode: string;
  /** devices.s3_prefix_hint: `raw/{device_code}/`. */
  s3PrefixHint: string;
  captureId: string;
  /** scans.scan_id, the human-readable public reference `{device_code}.{capture_id}`. */
  publicScanId: string;
  /** scans.captured_at: meta.json's time, or null when it cannot be one (captureTime). */
  capturedAt: string | null;
  /** The capture time as judged at ingest, kept on the `ingested` event. */
  captureTime: CaptureTime;
  gps: { lon: number; lat: number } | null;
  metaFarmId: string | null;
  operatorCode: string | null;
  /** The ear tag read at the chute (meta.json `animal.eid`): scans.animal_eid, linked to the farm's animal. */
  animalEid: string | null;
  /** Every object the webhook lists, relative to the capture directory. */
  objects: string[];
  assets: PlannedAsset[];
  imageKey: string;
  maskKey: string | null;
  /** Listed objects whose sha256 the webhook does not state: no asset row (sha256 is NOT NULL). */
  unhashedObjects: string[];
  /**
   * The webhook's meta_json (signed, schema-validated) when meta.json gets no asset row (a spec §5.3
   * body has no meta_sha256): kept on the `uploaded` event as the copy grading reads (ADR 0003 §9).
   */
  validatedMeta: WebhookBody['meta_json'] | null;
  source: string;
  relayEventId: string | null;
  /** webhookContentSha256 of the body: kept on the `uploaded` event, compared on every replay. */
  contentSha256: string;
};

type Known = { sha256: string | null; sizeBytes: number | null };

/** sha256/size per listed object, from meta_json, meta_sha256/meta_size_bytes and object_details. */
function knownObjects(body: WebhookBody): Map<string, Known> {
  const known = new Map<string, Known>();
  for (const d of body.object_details ?? []) known.set(d.name, { sha256: d.sha256, sizeBytes: d.size_bytes });
  const merge = (name: string, sha256: string | null | undefined, sizeBytes?: number) => {
    const prev = known.get(name);
    known.set(name, {
      sha256: sha256 ?? prev?.sha256 ?? null,
      sizeBytes: sizeBytes ?? prev?.sizeBytes ?? null,
    });
  };
  const meta = body.meta_json;
  merge(meta.files.image_relpath, meta.image_sha256);
  if (meta.files.mask_relpath) merge(meta.files.mask_relpath, meta.mask_sha256);
  merge(META_FILE, body.meta_sha256, body.meta_size_bytes);
  return known;
}

function roleOf(body: WebhookBody, name: string): AssetRole {
  if (name === body.meta_json.files.image_relpath) return 'image';
  if (name === body.meta_json.files.mask_relpath) return 'mask';
  return name === META_FILE ? 'meta' : 'extra';
}

/**
 * Map a validated webhook body to the rows ingest writes. Pure: the transaction only executes it.
 * Assets are sorted by key so concurrent transactions touch index entries in the same order.
 */
export function planIngest(
  body: WebhookBody,
  { source, now = new Date() }: { source?: string; now?: Date } = {},
): IngestPlan {
  const meta = body.meta_json;
  const time = captureTime(meta, now);
  const known = knownObjects(body);
  const assets: PlannedAsset[] = [];
  const unhashedObjects: string[] = [];
  for (const name of [...body.objects].sort()) {
    const info = known.get(name);
    if (!info?.sha256) {
      unhashedObjects.push(name);
      continue;
    }
    const objectKey = body.ingest_key + name;
    assets.push({
      objectKey,
      sha256: info.sha256,
      sizeBytes: info.sizeBytes,
      mimeType: mimeTypeForFile(name),
      role: roleOf(body, name),
    });
  }
  return {
    ingestKey: toIngestKeyUri(body.bucket, body.ingest_key),
    bucket: body.bucket,
    deviceCode: body.device_code,
    s3PrefixHint: `raw/${body.device_code}/`,
    captureId: meta.capture_id,
    publicScanId: `${body.device_code}.${meta.capture_id}`,
    capturedAt: time.capturedAt,
    captureTime: time,
    gps: meta.gps ? { lon: meta.gps.lon, lat: meta.gps.lat } : null,
    metaFarmId: meta.farm_id ?? null,
    operatorCode: meta.operator_id ?? null,
    animalEid: meta.animal?.eid ?? null,
    objects: [...body.objects],
    assets,
    imageKey: body.ingest_key + meta.files.image_relpath,
    maskKey: meta.files.mask_relpath ? body.ingest_key + meta.files.mask_relpath : null,
    unhashedObjects,
    validatedMeta: assets.some((x) => x.role === 'meta') ? null : meta,
    source: body.relay?.source ?? source ?? 'webhook',
    relayEventId: body.relay?.event_id ?? null,
    contentSha256: webhookContentSha256(body),
  };
}
