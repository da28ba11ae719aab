/** What the uploader does about a failed request. */
export type ErrorKind = 'transient' | 'permanent';

/** A spool file no longer matches the sha256 recorded at capture time (disk corruption, tampering). */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/**
 * A spool file is not there (ENOENT). Permanent like any integrity failure when the data volume is
 * there; the uploader first checks that it is (spool-volume.ts, review r20 F11).
 */
export class MissingSpoolFileError extends IntegrityError {
  constructor(path: string) {
    super(`spool file ${path} is missing`);
  }
}

/** An object at the capture's key holds other bytes than ours, and conditional writes refused ours. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/**
 * The endpoint answered a PutObject (or CompleteMultipartUpload) with success but not as an S3 store
 * does: no ETag, or a checksum other than ours. A captive portal, a transparent proxy or a wrong
 * S3_ENDPOINT answers 200 to anything; taking that for stored would let retention delete the only
 * copy. Transient: the capture stays pending and is sent again once the endpoint is the store.
 */
export class NotStoredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotStoredError';
  }
}

/**
 * A request to the store failed at a named step of an upload; the message says which and how
 * (`HEAD raw/…/image.png: 500 InternalError`). It keeps the cause's status and code, so it is
 * classified like the cause.
 */
export class StoreStepError extends Error {
  readonly step: string;
  readonly $metadata: { httpStatusCode?: number };
  readonly Code: string;
  constructor(step: string, key: string, cause: unknown) {
    const status = httpStatus(cause);
    const code = errorCode(cause);
    const detail =
      cause instanceof Error && cause.message && cause.message !== code ? `: ${cause.message}` : '';
    super(`${step} ${key}: ${status ?? 'no answer'} ${code}${detail}`, { cause });
    this.name = 'StoreStepError';
    this.step = step;
    this.$metadata = { httpStatusCode: status };
    this.Code = code;
  }
}

/** The store answered a HEAD with a server error (5xx): the existence check itself is failing. */
export const isHeadServerError = (error: unknown): boolean =>
  error instanceof StoreStepError && error.step === 'HEAD' && (httpStatus(error) ?? 0) >= 500;

// Codes S3 answers with when retrying cannot help until an operator acts (credentials, policy,
// bucket, or bytes that the store says do not match their digest even though we re-hashed them).
const PERMANENT_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'InvalidBucketName',
  'InvalidBucketState',
  'BadDigest',
  'InvalidDigest',
  'XAmzContentSHA256Mismatch',
  'EntityTooLarge',
  'KeyTooLongError',
  'InvalidStorageClass',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  cause?: unknown;
}

/** The S3 error code ('AccessDenied'), a network errno ('ECONNREFUSED'), or the error name. */
export function errorCode(error: unknown): string {
  const e = (error ?? {}) as SdkLikeError;
  return e.Code ?? e.code ?? (e.cause as SdkLikeError | undefined)?.code ?? e.name ?? 'Unknown';
}

export function httpStatus(error: unknown): number | undefined {
  return (error as SdkLikeError | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Transient: network failures, timeouts, throttling, 5xx, and any unrecognised answer (retrying
 * with capped backoff never loses data; a captive portal's odd 403 page must not quarantine
 * everything). Permanent: the known codes above and local integrity/conflict failures.
 */
export function classifyError(error: unknown): ErrorKind {
  if (error instanceof IntegrityError || error instanceof ConflictError) return 'permanent';
  return PERMANENT_CODES.has(errorCode(error)) ? 'permanent' : 'transient';
}

/** One line for logs and the outbox's last_error: code, HTTP status and message. */
export function describeError(error: unknown): string {
  if (error instanceof StoreStepError) return error.message.slice(0, 500);
  const status = httpStatus(error);
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  return `${code}${status ? ` (HTTP ${status})` : ''}: ${message}`.slice(0, 500);
}
