import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  ChecksumMode,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  type S3Client,
} from '@aws-sdk/client-s3';
import { META_FILE } from '@cti/contracts';

/** What a listing says about one object in a capture directory. */
export interface ListedObject {
  size: number;
  etag: string | undefined;
}

/** What HEAD says about one object: size always, sha256 only when the store kept a full-object checksum. */
export interface HeadedObject {
  size: number;
  etag: string | undefined;
  sha256: string | null;
}

export function isNotFound(error: unknown): boolean {
  return (
    error instanceof NoSuchKey ||
    error instanceof NotFound ||
    (error as { name?: string }).name === 'NoSuchKey' ||
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
  );
}

/** The whole object as bytes, or null when it does not exist. Refuses objects above `maxBytes`. */
export async function readSmallObject(
  s3: S3Client,
  { bucket, key, maxBytes }: { bucket: string; key: string; maxBytes: number },
): Promise<
  { bytes: Buffer; etag: string | undefined; lastModified: Date | undefined } | { tooLarge: number } | null
> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if ((got.ContentLength ?? 0) > maxBytes) {
      (got.Body as Readable | undefined)?.destroy?.();
      return { tooLarge: got.ContentLength ?? 0 };
    }
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    return { bytes, etag: got.ETag, lastModified: got.LastModified };
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Every object directly in `dir` (a prefix ending in '/'), by file name; nested keys are skipped. */
export async function listDirectory(
  s3: S3Client,
  { bucket, dir }: { bucket: string; dir: string },
): Promise<Map<string, ListedObject>> {
  const objects = new Map<string, ListedObject>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: dir, Delimiter: '/', ContinuationToken: token }),
    );
    for (const item of page.Contents ?? []) {
      const name = item.Key?.slice(dir.length);
      if (name) objects.set(name, { size: item.Size ?? 0, etag: item.ETag });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/**
 * HEAD one object asking for its checksum. Real S3 returns ChecksumSHA256 only when the object was
 * uploaded with one; a multipart upload's COMPOSITE checksum ("…-N") is a hash of part hashes, not of
 * the bytes, so it is not reported as the object's sha256.
 */
export async function headObject(
  s3: S3Client,
  { bucket, key }: { bucket: string; key: string },
): Promise<HeadedObject | null> {
  try {
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: ChecksumMode.ENABLED }),
    );
    const checksum = head.ChecksumSHA256;
    const fullObject = checksum && head.ChecksumType !== 'COMPOSITE' && !checksum.includes('-');
    return {
      size: head.ContentLength ?? 0,
      etag: head.ETag,
      sha256: fullObject ? Buffer.from(checksum, 'base64').toString('hex') : null,
    };
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** Stream an object through sha256 (constant memory), or null when it does not exist. */
export async function hashObject(
  s3: S3Client,
  { bucket, key }: { bucket: string; key: string },
): Promise<{ sha256: string; size: number } | null> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of got.Body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { sha256: hash.digest('hex'), size };
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/** A capture's meta.json as a listing shows it. */
export interface MetaObject {
  key: string;
  etag: string;
  lastModified: Date;
}

/** Every `…/meta.json` under the prefix, from a full paginated listing. */
export async function listMetaObjects(s3: S3Client, bucket: string, prefix: string): Promise<MetaObject[]> {
  const found: MetaObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const item of page.Contents ?? []) {
      if (item.Key?.endsWith(`/${META_FILE}`)) {
        found.push({ key: item.Key, etag: item.ETag ?? '', lastModified: item.LastModified ?? new Date(0) });
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return found;
}
