// Test support (not built): build and upload capture directories the way the agent does.
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { META_FILE, type MetaJson, rawCaptureDir } from '@cti/contracts';
import { exampleMeta } from '@cti/contracts/testing';

export interface TestCapture {
  dir: string;
  metaKey: string;
  meta: MetaJson;
  metaBytes: Buffer;
  /** Every file except meta.json, by name. */
  files: Map<string, Buffer>;
}

let counter = 0;

export function makeCapture({
  captureId = `cap_t${process.pid}_${++counter}`,
  deviceCode = 'dev-0001',
  capturedAt = '2025-09-09T14:18:32Z',
  extra = [] as string[],
  withMask = false,
} = {}): TestCapture {
  const image = Buffer.concat([Buffer.from('\x89PNG fake image '), randomBytes(2048)]);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const files = new Map<string, Buffer>([['image.png', image]]);
  const mask = withMask ? randomBytes(512) : null;
  if (mask) files.set('mask.png', mask);
  for (const name of extra) files.set(name, Buffer.from(`extra ${name} ${captureId}`));
  const meta = exampleMeta({
    device_code: deviceCode,
    capture_id: captureId,
    captured_at: capturedAt,
    image_sha256: sha(image),
    mask_sha256: mask ? sha(mask) : null,
    files: { image_relpath: 'image.png', mask_relpath: mask ? 'mask.png' : null, extra },
  });
  const dir = rawCaptureDir({ deviceCode, capturedAt, captureId });
  const metaBytes = Buffer.from(JSON.stringify(meta, null, 2));
  return { dir, metaKey: dir + META_FILE, meta, metaBytes, files };
}

export async function putObject(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function uploadFiles(s3: S3Client, bucket: string, capture: TestCapture): Promise<void> {
  for (const [name, bytes] of capture.files) await putObject(s3, bucket, capture.dir + name, bytes);
}

export async function uploadMeta(s3: S3Client, bucket: string, capture: TestCapture): Promise<void> {
  await putObject(s3, bucket, capture.metaKey, capture.metaBytes);
}

/** The agent's order: every file, then meta.json last (the commit marker). */
export async function uploadCapture(s3: S3Client, bucket: string, capture: TestCapture): Promise<void> {
  await uploadFiles(s3, bucket, capture);
  await uploadMeta(s3, bucket, capture);
}
