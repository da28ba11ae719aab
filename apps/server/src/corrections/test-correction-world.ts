// Test helper (excluded from the build): scans whose image (a phantom ultrasound frame) is in S3 with
// its real sha256, each graded by a "model" result — features computed by the worker's code on a
// deliberately imperfect mask, with its mask and overlay objects and asset rows — for the correction
// tests (API, Chromium, export-labels).
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { encodePng, type GrayImage, generatePhantom, toGray } from '@cti/imaging';
import { computeGradingFeatures, encodeMaskPng, type Mask, renderGradingOverlay } from '@cti/models';
import type { Sql } from 'postgres';

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** One phantom frame: its PNG, gray pixels, true ribeye mask, spacing and field. */
export async function phantomScan(seed = 31) {
  const phantom = generatePhantom({ seed, preset: 'heldout', probe: 'linear', layout: 'crop', maxSide: 320 });
  const gray: GrayImage = toGray(phantom.image);
  const truth: Mask = { data: phantom.labels.ribeyeMask!, width: gray.width, height: gray.height };
  return {
    png: await encodePng(gray),
    gray,
    truth,
    spacingMm: phantom.labels.pixelSpacingMm,
    scanArea: phantom.labels.params.scanArea as [number, number, number, number],
  };
}

export type PhantomScan = Awaited<ReturnType<typeof phantomScan>>;

/** The model's (imperfect) mask: the true ribeye without its right third. */
export function modelMask(truth: Mask): Mask {
  let x0 = truth.width;
  let x1 = 0;
  truth.data.forEach((v, i) => {
    if (v !== 1) return;
    x0 = Math.min(x0, i % truth.width);
    x1 = Math.max(x1, i % truth.width);
  });
  const cut = Math.round(x0 + ((x1 - x0) * 2) / 3);
  return { ...truth, data: truth.data.map((v, i) => (i % truth.width < cut ? v : 0)) };
}

/**
 * A scan of `farmId` whose image is `frame` in `bucket`, with a model result ("ribeye-seg@2.3.0",
 * pixel spacing from the ruler) graded on modelMask(frame.truth), its mask and overlay in S3.
 */
export async function seedCorrectableScan(
  sql: Sql,
  s3: S3Client,
  {
    bucket,
    farmId,
    deviceId,
    frame,
    captureId,
    graded = true,
    createdAt = '2025-09-09T14:19:00Z',
  }: {
    bucket: string;
    farmId: string | null;
    deviceId: string;
    frame: PhantomScan;
    captureId: string;
    graded?: boolean;
    createdAt?: string;
  },
): Promise<{ scanId: string; resultId: string | null; imageKey: string; maskKey: string | null }> {
  const asset = async (key: string, body: Uint8Array) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const [a] = await sql<{ id: string }[]>`
      INSERT INTO assets (bucket, object_key, sha256, size_bytes, mime_type)
      VALUES (${bucket}, ${key}, ${sha256(body)}, ${body.byteLength}, 'image/png') RETURNING id`;
    return a!.id;
  };
  const imageKey = `raw/dev-a/2025/09/09/${captureId}/image.png`;
  const image = await asset(imageKey, frame.png);
  const [scan] = await sql<{ id: string }[]>`
    INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, captured_at, status, image_asset_id)
    VALUES (${`dev-a.${captureId}`}, ${captureId}, ${`s3://${bucket}/raw/dev-a/2025/09/09/${captureId}/`}, ${deviceId},
            ${farmId}, '2025-09-09T14:18:32Z', 'ingested', ${image})
    RETURNING id`;
  const scanId = scan!.id;
  await sql`INSERT INTO scan_events (scan_id, event, meta) VALUES (${scanId}, 'ingested', '{"source":"test"}')`;
  if (!graded) return { scanId, resultId: null, imageKey, maskKey: null };
  const mask = modelMask(frame.truth);
  const features = {
    ...computeGradingFeatures({
      gray: frame.gray,
      mask,
      pixelSpacingMm: frame.spacingMm,
      pixelSpacingSource: 'ruler',
      scanArea: frame.scanArea,
    }),
    scan_area: frame.scanArea,
    lineage: { segmentation_model: 'ribeye-seg@2.3.0', grading_rules: 'grading-rules-1' },
  };
  const maskKey = `processed/${captureId}/job-1-mask.png`;
  const maskAsset = await asset(maskKey, await encodeMaskPng(mask));
  const overlay = await asset(
    `processed/${captureId}/job-1-overlay.png`,
    await renderGradingOverlay({ gray: frame.gray, mask, fat: features.fat_position, lines: ['MODEL'] }),
  );
  const [r] = await sql<{ id: string }[]>`
    INSERT INTO grading_results (scan_id, model_name, model_version, inference_sha256, confidence, confidence_breakdown,
                                 features_used, created_by, grade, grade_reasons, created_at)
    VALUES (${scanId}, 'ribeye-seg', '2.3.0', ${'d'.repeat(64)}, 0.8123, ${sql.json({ rule: 'view-check-1' })},
            ${sql.json(features as never)}, NULL, 'A', ${[]}::text[], ${createdAt})
    RETURNING id`;
  for (const [role, id] of [
    ['mask', maskAsset],
    ['overlay', overlay],
  ]) {
    await sql`INSERT INTO grading_result_assets (grading_result_id, asset_id, role) VALUES (${r!.id}, ${id!}, ${role!})`;
  }
  await sql`UPDATE scans SET status = 'graded' WHERE id = ${scanId}`;
  return { scanId, resultId: r!.id, imageKey, maskKey };
}

/** A mask as the editor sends it: an opaque RGBA PNG, white = ribeye, black = background. */
export async function editorPng(mask: Mask): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const rgba = Buffer.alloc(mask.width * mask.height * 4);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i] === 1 ? 255 : 0;
    rgba[i * 4] = v;
    rgba[i * 4 + 1] = v;
    rgba[i * 4 + 2] = v;
    rgba[i * 4 + 3] = 255;
  }
  return sharp(rgba, { raw: { width: mask.width, height: mask.height, channels: 4 } })
    .png()
    .toBuffer();
}
