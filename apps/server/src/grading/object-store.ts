import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MAX_IMAGE_PIXELS } from '@cti/imaging';
import type { LeanS3Client } from '../storage/lean-s3-client.ts';
import { isCredentialsError, S3_CREDENTIAL_SETTINGS } from '../storage/s3-credentials.ts';
import { GradingError, isS3Unavailable } from './grading-errors.ts';

/** S3 errors that mean "the store is unreachable or refusing us" become s3_unavailable (infrastructure). */
function asS3Error(err: unknown, what: string): unknown {
  if (err instanceof GradingError || !isS3Unavailable(err)) return err;
  // No credentials: the job's last_error names what to set, not only the SDK's "any providers".
  const fix = isCredentialsError(err) ? ` (set ${S3_CREDENTIAL_SETTINGS})` : '';
  return new GradingError('s3_unavailable', `S3 unavailable (${what}): ${(err as Error).message}${fix}`, {
    infrastructure: true,
    cause: err,
  });
}

export type StoredObject = { bucket: string; key: string; sha256: string };

/** The SDK client (the server's commands) or the lean one (the grading worker: less CPU per request). */
export type ObjectClient = S3Client | LeanS3Client;

const isLean = (s3: ObjectClient): s3 is LeanS3Client => 'objectUrl' in s3;

async function openObject(
  s3: ObjectClient,
  { bucket, key }: StoredObject,
  signal: AbortSignal | undefined,
): Promise<{ body: Readable; contentLength: number | undefined }> {
  if (isLean(s3)) return s3.getObject(bucket, key, { signal });
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  return { body: out.Body as Readable, contentLength: out.ContentLength };
}

/**
 * An image object's byte limit, derived from the pixel limit (MAX_IMAGE_PIXELS, 40 MP): an uncompressed
 * 8-bit RGBA frame of that many pixels (4 bytes a pixel: a 32-bit BMP, the largest 8-bit export) plus
 * 1 MiB of headers — 161,048,576 bytes. Any 8-bit export within the pixel limit fits (a 24 MP 24-bit
 * BMP is 72 MB); only an uncompressed 16-bit one of over ≈ 20 MP is refused by its bytes. The worker
 * and a correction by hand read images with it.
 */
export const MAX_IMAGE_BYTES = MAX_IMAGE_PIXELS * 4 + (1 << 20);

/** readVerifiedObject's options for an image: the limit, and why it is that (in image_too_large's message). */
export const IMAGE_BYTE_LIMIT = {
  maxBytes: MAX_IMAGE_BYTES,
  limitNote: ` (${MAX_IMAGE_PIXELS / 1e6} MP × 4 bytes + 1 MiB: an uncompressed 8-bit RGBA frame at the pixel limit)`,
};

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Reads a whole object and checks its sha256 against the one recorded at ingest. A mismatch is a
 * permanent failure (sha256_mismatch): the bytes in the store are not the ones the device hashed,
 * and grading them would attach a grade to the wrong image. A missing object is image_missing (for an
 * optional input, readOptionalObject says null instead).
 *
 * @example const bytes = await readVerifiedObject(s3, { bucket, key, sha256 }, { signal });
 */
export async function readVerifiedObject(
  s3: ObjectClient,
  object: StoredObject,
  {
    signal,
    maxBytes = 64 << 20,
    limitNote = '',
  }: {
    signal?: AbortSignal;
    maxBytes?: number;
    /** Why the limit is what it is, appended to image_too_large's message (e.g. ` (derived from …)`). */
    limitNote?: string;
  } = {},
): Promise<Uint8Array> {
  let body: { bytes: Uint8Array; sha256: string };
  try {
    const out = await openObject(s3, object, signal);
    if ((out.contentLength ?? 0) > maxBytes) {
      out.body?.destroy();
      throw new GradingError(
        'image_too_large',
        `s3://${object.bucket}/${object.key} is ${out.contentLength} bytes, over the limit of ${maxBytes} bytes${limitNote}`,
        {
          permanent: true,
        },
      );
    }
    body = await readHashedBody(out.body, out.contentLength, maxBytes, object, limitNote);
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') {
      throw new GradingError('image_missing', `s3://${object.bucket}/${object.key} does not exist`, {
        cause: err,
      });
    }
    throw asS3Error(err, `GET s3://${object.bucket}/${object.key}`);
  }
  if (body.sha256 !== object.sha256) {
    throw new GradingError(
      'sha256_mismatch',
      `s3://${object.bucket}/${object.key} has sha256 ${body.sha256}, but ingest recorded ${object.sha256}: refusing to grade bytes that are not the captured ones`,
      { permanent: true },
    );
  }
  return body.bytes;
}

/**
 * readVerifiedObject for an input grading can do without (meta.json, the capture's mask): null when
 * the object is not in the store — it is no image, so never image_missing. Bytes that are there but
 * differ from the recorded sha256 are still sha256_mismatch (tampering), as for the image.
 *
 * @example const bytes = await readOptionalObject(s3, ctx.meta, { signal, maxBytes: 1 << 20 });
 */
export async function readOptionalObject(
  s3: ObjectClient,
  object: StoredObject,
  options: Parameters<typeof readVerifiedObject>[2] = {},
): Promise<Uint8Array | null> {
  try {
    return await readVerifiedObject(s3, object, options);
  } catch (err) {
    if (err instanceof GradingError && err.code === 'image_missing') return null;
    throw err;
  }
}

/**
 * A GET's body, hashed chunk by chunk as it arrives and copied once into a buffer of the announced
 * Content-Length (the SDK's `transformToByteArray` keeps every chunk, then concatenates them, and the
 * bytes were hashed in a second pass: ~0.3 ms of CPU and one body-sized garbage buffer per image). A
 * body longer or shorter than announced is an error, never a truncated image.
 */
async function readHashedBody(
  stream: Readable,
  contentLength: number | undefined,
  maxBytes: number,
  object: StoredObject,
  limitNote: string,
): Promise<{ bytes: Uint8Array; sha256: string }> {
  const hash = createHash('sha256');
  const where = `s3://${object.bucket}/${object.key}`;
  if (contentLength === undefined) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        stream.destroy();
        throw new GradingError(
          'image_too_large',
          `${where} is over the limit of ${maxBytes} bytes${limitNote}`,
          {
            permanent: true,
          },
        );
      }
      hash.update(chunk);
      chunks.push(chunk);
    }
    return { bytes: Buffer.concat(chunks, size), sha256: hash.digest('hex') };
  }
  const bytes = Buffer.allocUnsafeSlow(contentLength);
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (size + chunk.length > contentLength) {
      stream.destroy();
      throw new Error(`${where}: body longer than its Content-Length ${contentLength}`);
    }
    hash.update(chunk);
    bytes.set(chunk, size);
    size += chunk.length;
  }
  if (size !== contentLength) throw new Error(`${where}: body ended at ${size} of ${contentLength} bytes`);
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Writes a grading output (overlay, mask) with its SHA-256 checksum, which S3 verifies. Keys name the
 * job, so a retry of the job rewrites the same bytes at the same key and nothing else.
 */
export async function putObject(
  s3: ObjectClient,
  { bucket, key, body, contentType }: { bucket: string; key: string; body: Buffer; contentType: string },
  { signal }: { signal?: AbortSignal } = {},
): Promise<StoredObject & { sizeBytes: number }> {
  const digest = createHash('sha256').update(body).digest();
  const hex = digest.toString('hex');
  if (isLean(s3)) {
    try {
      await s3.putObject(bucket, key, body, {
        contentType,
        sha256Hex: hex,
        metadata: { sha256: hex },
        signal,
      });
    } catch (err) {
      throw asS3Error(err, `PUT s3://${bucket}/${key}`);
    }
    return { bucket, key, sha256: hex, sizeBytes: body.length };
  }
  const command = new PutObjectCommand({
    Bucket: bucket,
    Key: key,
    Body: body,
    ContentType: contentType,
    ChecksumSHA256: digest.toString('base64'),
    Metadata: { sha256: hex },
  });
  // SigV4 signs the body's SHA-256 (x-amz-content-sha256, which S3 and RGW check against the bytes
  // received): it is the digest above, so the signer takes it instead of hashing the body again.
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = hex;
      return next(args);
    },
    { step: 'build', name: 'ctiPayloadSha256' },
  );
  try {
    await s3.send(command, { abortSignal: signal });
  } catch (err) {
    throw asS3Error(err, `PUT s3://${bucket}/${key}`);
  }
  return { bucket, key, sha256: hex, sizeBytes: body.length };
}

/** Deletes an object (a key that is not there is no error); S3 errors classified as for a GET. */
export async function deleteObject(
  s3: ObjectClient,
  { bucket, key }: { bucket: string; key: string },
  { signal }: { signal?: AbortSignal } = {},
): Promise<void> {
  try {
    if (isLean(s3)) await s3.deleteObject(bucket, key, { signal });
    else await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  } catch (err) {
    throw asS3Error(err, `DELETE s3://${bucket}/${key}`);
  }
}
