import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, read, readSync } from 'node:fs';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { mimeTypeForFile } from '@cti/contracts';
import type { Logger } from 'pino';
import {
  ConflictError,
  errorCode,
  httpStatus,
  IntegrityError,
  isHeadServerError,
  MissingSpoolFileError,
  NotStoredError,
  StoreStepError,
} from './s3-errors.ts';

export interface TransferTarget {
  bucket: string;
  key: string;
  name: string;
  /** The spool file. */
  path: string;
  /** Hex sha256 recorded at capture time. */
  sha256: string;
  sizeBytes: number;
}

export interface TransferOptions {
  s3: S3Client;
  signal: AbortSignal;
  multipartThresholdBytes: number;
  partSizeBytes: number;
  /** Send `If-None-Match: *` so a store that supports conditional writes never overwrites. */
  conditionalWrites: boolean;
  /** A previous attempt may have reached the store: look before sending again. */
  verifyFirst: boolean;
  /**
   * The store has kept failing the HEAD check for this object: send without asking first (still
   * with `If-None-Match: *` when conditional writes are on), instead of being stuck on the check.
   */
  skipCheck?: boolean;
  /**
   * The small object's bytes, already read from the spool and verified against its size and sha256
   * (`readVerified`, just before this transfer); without them the transfer reads the file itself.
   */
  data?: Buffer;
  log?: Logger;
}

/** sent: our bytes were stored now; already_present: the store already had exactly them. */
export type TransferOutcome = 'sent' | 'already_present';

interface HeadResult {
  size: number | undefined;
  checksumSha256: string | undefined;
  etag: string | undefined;
  /** The capture-time sha256 the agent stores with every object (`x-amz-meta-sha256`). */
  metaSha256: string | undefined;
}

/**
 * Every object carries its capture-time sha256 as user metadata, so a HEAD can tell our bytes from
 * others' where the store keeps no full-object checksum: multipart objects (S3 keeps only a
 * checksum of the part checksums) and stores without checksums (s3rver, many S3-compatible ones).
 */
const shaMetadata = (target: TransferTarget) => ({ sha256: target.sha256 });

const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

async function head(target: TransferTarget, options: TransferOptions): Promise<HeadResult | null> {
  try {
    const out = await options.s3.send(
      new HeadObjectCommand({ Bucket: target.bucket, Key: target.key, ChecksumMode: 'ENABLED' }),
      { abortSignal: options.signal },
    );
    return {
      size: out.ContentLength,
      checksumSha256: out.ChecksumSHA256,
      etag: out.ETag,
      metaSha256: out.Metadata?.sha256,
    };
  } catch (error) {
    if (httpStatus(error) === 404 || errorCode(error) === 'NotFound' || errorCode(error) === 'NoSuchKey')
      return null;
    if (options.signal.aborted) throw error;
    throw new StoreStepError('HEAD', target.key, error);
  }
}

/**
 * Does the stored object hold our bytes? The size must match, and then the strongest evidence the
 * store gives decides: a full-object sha256 checksum (real S3, verified by the store on write); the
 * sha256 metadata our uploads carry; a plain single-part ETag, the MD5 of the bytes (s3rver, S3
 * without KMS), when we have the bytes in memory. With none of these nothing proves the bytes are
 * ours, so they are not taken as ours (a same-sized foreign object must not pass for an upload).
 */
function sameObject(found: HeadResult, target: TransferTarget, data: Buffer | null): boolean {
  if (found.size !== target.sizeBytes) return false;
  if (found.checksumSha256 && !found.checksumSha256.includes('-')) {
    return found.checksumSha256 === hexToBase64(target.sha256);
  }
  if (found.metaSha256) return found.metaSha256 === target.sha256;
  const etag = found.etag?.replaceAll('"', '');
  if (data && etag && /^[0-9a-f]{32}$/.test(etag))
    return etag === createHash('md5').update(data).digest('hex');
  return false;
}

/**
 * Files up to this size are read synchronously, the way SQLite reads its pages: a thread-pool
 * round trip costs more CPU than the read itself, and even a cold read of a few KB blocks the event
 * loop about as long as one SQLite page miss. Larger files (images) are read in the thread pool.
 */
const SYNC_READ_MAX_BYTES = 64 * 1024;

const readInPool = (fd: number, data: Buffer, offset: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, data, offset, data.length - offset, offset, (error, bytesRead) =>
      error ? reject(error) : resolve(bytesRead),
    ),
  );

/**
 * Fills `data` from the file or stops at its end. A read of a local regular file comes back short
 * only at the end of the file, so a short read ends it: no extra read to see 0 bytes. Open and
 * close are synchronous: they only touch metadata the kernel caches, while the data read, which
 * takes milliseconds on a cold SD card, goes through the thread pool when the file is large
 * (one round trip per object instead of three).
 */
async function fill(path: string, data: Buffer): Promise<number> {
  const fd = openSync(path, 'r');
  try {
    const inPool = data.length > SYNC_READ_MAX_BYTES;
    let filled = 0;
    while (filled < data.length) {
      const wanted = data.length - filled;
      const bytesRead = inPool
        ? await readInPool(fd, data, filled)
        : readSync(fd, data, filled, wanted, filled);
      filled += bytesRead;
      if (bytesRead < wanted) break;
    }
    return filled;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a spool file expected to hold `sizeBytes` into `into` (allocated when absent or too small).
 * It asks for one byte more than expected, so a grown file shows without an fstat.
 */
async function readSpoolFile(path: string, sizeBytes: number, into: Buffer | undefined): Promise<Buffer> {
  const want = sizeBytes + 1;
  const data = into && into.length >= want ? into.subarray(0, want) : Buffer.allocUnsafe(want);
  try {
    return data.subarray(0, await fill(path, data));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingSpoolFileError(path);
    throw error;
  }
}

/**
 * Reads a spool file and checks it against its capture-time size and sha256 (IntegrityError if
 * not). `into` (≥ size + 1 bytes) is used instead of a new buffer when given.
 */
export async function readVerified(target: TransferTarget, into?: Buffer): Promise<Buffer> {
  const data = await readSpoolFile(target.path, target.sizeBytes, into);
  if (data.length > target.sizeBytes) {
    throw new IntegrityError(
      `spool file ${target.name} changed since capture: larger than the ${target.sizeBytes} B recorded`,
    );
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (data.length !== target.sizeBytes || actual !== target.sha256) {
    throw new IntegrityError(
      `spool file ${target.name} changed since capture: sha256 ${actual} (${data.length} B), expected ${target.sha256} (${target.sizeBytes} B)`,
    );
  }
  return data;
}

const isPreconditionFailed = (error: unknown) =>
  httpStatus(error) === 412 || errorCode(error) === 'PreconditionFailed';

/** Reads the stored object and compares it with ours (size and sha256), in constant memory. */
async function storedBytesAreOurs(target: TransferTarget, options: TransferOptions): Promise<boolean> {
  try {
    const got = await options.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: target.key }), {
      abortSignal: options.signal,
    });
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of got.Body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      size += chunk.length;
    }
    return size === target.sizeBytes && hash.digest('hex') === target.sha256;
  } catch (error) {
    if (options.signal.aborted) throw error;
    throw new StoreStepError('GET', target.key, error);
  }
}

/**
 * After a 412 to `If-None-Match: *`: success only when the object there is ours. When the store
 * cannot describe it (HEAD keeps answering 5xx), its bytes are read and compared instead.
 */
async function confirmExisting(target: TransferTarget, options: TransferOptions, data: Buffer | null) {
  let found: HeadResult | null;
  try {
    found = await head(target, options);
  } catch (error) {
    if (!isHeadServerError(error)) throw error;
    if (await storedBytesAreOurs(target, options)) return 'already_present' as const;
    throw new ConflictError(
      `a different object already exists at ${target.key} (its HEAD fails: ${(error as Error).message})`,
    );
  }
  if (found && sameObject(found, target, data)) return 'already_present' as const;
  throw new ConflictError(
    `a different object already exists at ${target.key} (size ${found?.size ?? 'unknown'})`,
  );
}

const KNOWN_PAYLOAD_HASH = 'ctiKnownPayloadHash';

/**
 * SigV4 signs the payload's sha256 (x-amz-content-sha256) and would hash the body again to get it.
 * Our PutObjects carry that very hash as `ChecksumSHA256` (and the bytes were just verified against
 * it), so one client-level middleware hands it to the signer. Client-level, once: a middleware added
 * per command makes the SDK rebuild that command's middleware chain on every send. Real S3 checks
 * the value too. Idempotent per client.
 */
export function installKnownPayloadHash(s3: S3Client): void {
  if (s3.middlewareStack.identify().some((entry) => entry.startsWith(`${KNOWN_PAYLOAD_HASH} `))) return;
  s3.middlewareStack.add(
    (next, context) => (args) => {
      const checksum = (args.input as { ChecksumSHA256?: string }).ChecksumSHA256;
      const headers = (args.request as { headers?: Record<string, string> }).headers;
      if (
        context.commandName === 'PutObjectCommand' &&
        checksum &&
        headers &&
        !headers['x-amz-content-sha256']
      )
        headers['x-amz-content-sha256'] = Buffer.from(checksum, 'base64').toString('hex');
      return next(args);
    },
    { step: 'build', name: KNOWN_PAYLOAD_HASH },
  );
}

async function putSmall(target: TransferTarget, options: TransferOptions): Promise<TransferOutcome> {
  const data = options.data ?? (await readVerified(target));
  let conditional = options.conditionalWrites;
  if (options.verifyFirst && !options.skipCheck) {
    const found = await head(target, options);
    if (found && sameObject(found, target, data)) return 'already_present';
    // Other bytes after an interrupted attempt: a partial write by a store without atomic PUTs. Ours win.
    if (found) {
      options.log?.warn(
        { key: target.key, size: found.size },
        'replacing a different object left by an interrupted upload',
      );
      conditional = false;
    }
  }
  const command = new PutObjectCommand({
    Bucket: target.bucket,
    Key: target.key,
    Body: data, // a Buffer, never a stream: no aws-chunked framing (see PLATFORM-NOTES)
    ContentLength: data.length,
    ContentType: mimeTypeForFile(target.name),
    ChecksumSHA256: hexToBase64(target.sha256), // real S3 rejects bytes that do not match
    Metadata: shaMetadata(target),
    IfNoneMatch: conditional ? '*' : undefined,
  });
  let answer: { ETag?: string; ChecksumSHA256?: string };
  try {
    answer = await options.s3.send(command, { abortSignal: options.signal });
  } catch (error) {
    if (conditional && isPreconditionFailed(error)) return confirmExisting(target, options, data);
    throw error;
  }
  checkStored(target, 'PutObject', answer);
  return 'sent';
}

/**
 * A store answers a write it performed with the object's ETag; one that echoes a checksum (real S3
 * for a PutObject sent with ChecksumSHA256) echoes ours. A 2xx without them is not a store's answer:
 * NotStoredError, retried like any transient failure, never counted as uploaded. (The ETag is not
 * compared with an MD5: under SSE-KMS, S3's ETag is not one.)
 */
function checkStored(
  target: TransferTarget,
  request: 'PutObject' | 'CompleteMultipartUpload',
  answer: { ETag?: string; ChecksumSHA256?: string },
): void {
  if (!answer.ETag) {
    throw new NotStoredError(
      `${request} ${target.key}: the endpoint answered success without an ETag: not an S3 store — ` +
        'a captive portal, a proxy or a wrong S3_ENDPOINT (upload.endpoint)? Nothing counts as uploaded',
    );
  }
  const ours = hexToBase64(target.sha256);
  if (request === 'PutObject' && answer.ChecksumSHA256 && answer.ChecksumSHA256 !== ours) {
    throw new NotStoredError(
      `${request} ${target.key}: the store reports checksum ${answer.ChecksumSHA256}, ours is ${ours}: ` +
        'something between the agent and the store changed the bytes',
    );
  }
}

/**
 * Streams the file while hashing it; a mismatch fails the stream before the last part is handed
 * over, so the multipart upload is never completed. `failure()` keeps the integrity error, which
 * lib-storage may otherwise replace with the error of its own abort request.
 */
function verifyingStream(target: TransferTarget): { body: PassThrough; failure: () => Error | null } {
  const hash = createHash('sha256');
  let size = 0;
  let failure: Error | null = null;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      const actual = hash.digest('hex');
      if (actual === target.sha256 && size === target.sizeBytes) return done();
      done(
        new IntegrityError(
          `spool file ${target.name} changed since capture: sha256 ${actual}, expected ${target.sha256}`,
        ),
      );
    },
  });
  const body = new PassThrough();
  pipeline(createReadStream(target.path), check, body).catch((error: unknown) => {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    failure = missing ? new MissingSpoolFileError(target.path) : (error as Error);
    body.destroy(failure);
  });
  return { body, failure: () => failure };
}

async function abortMultipart(
  target: TransferTarget,
  options: TransferOptions,
  uploadId: string,
): Promise<void> {
  await options.s3
    .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }), {
      abortSignal: AbortSignal.timeout(10_000),
    })
    .catch((error: unknown) =>
      options.log?.warn({ key: target.key, uploadId, err: error }, 'could not abort multipart upload'),
    );
}

async function putMultipart(target: TransferTarget, options: TransferOptions): Promise<TransferOutcome> {
  // Look first (unless the check keeps failing): a HEAD is cheap next to re-sending a large object.
  const found = options.skipCheck ? null : await head(target, options);
  if (found && sameObject(found, target, null)) return 'already_present';
  const conditional = options.conditionalWrites && !found;
  const source = verifyingStream(target);
  const upload = new Upload({
    client: options.s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: source.body,
      ContentLength: target.sizeBytes,
      ContentType: mimeTypeForFile(target.name),
      ChecksumAlgorithm: 'SHA256', // per-part sha256, verified by real S3
      Metadata: shaMetadata(target),
      IfNoneMatch: conditional ? '*' : undefined, // forwarded to CompleteMultipartUpload
    },
    partSize: options.partSizeBytes,
    queueSize: 2,
    leavePartsOnError: false,
  });
  const onAbort = () => void upload.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  let answer: { ETag?: string };
  try {
    answer = await upload.done();
  } catch (error) {
    // lib-storage aborts on part failures itself, but not when aborted from outside: make sure.
    const uploadId = (upload as unknown as { uploadId?: string }).uploadId;
    if (uploadId) await abortMultipart(target, options, uploadId);
    if (conditional && isPreconditionFailed(error)) return confirmExisting(target, options, null);
    throw source.failure() ?? error;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
  checkStored(target, 'CompleteMultipartUpload', answer);
  return 'sent';
}

/**
 * Uploads one spool file to its key, idempotently: the same key and bytes on every attempt, the
 * capture-time sha256 as `x-amz-checksum-sha256`, a local re-hash before sending (IntegrityError on
 * mismatch), and HEAD checks so an object that already arrived is never sent twice.
 */
export function transferObject(target: TransferTarget, options: TransferOptions): Promise<TransferOutcome> {
  return target.sizeBytes > options.multipartThresholdBytes
    ? putMultipart(target, options)
    : putSmall(target, options);
}
