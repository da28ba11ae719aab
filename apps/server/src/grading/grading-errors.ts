import { isRetryableDatabaseError } from '../db/database-errors.ts';
import { isCredentialsError } from '../storage/s3-credentials.ts';

/** Stable failure codes recorded in grading_jobs.last_error_code and the grading_failed event. */
export type GradingFailureCode =
  /** Permanent: the job fails at once. */
  | 'sha256_mismatch'
  | 'undecodable_image'
  | 'image_too_large'
  | 'no_image_asset'
  | 'bucket_not_accepted'
  | 'invalid_meta'
  /** The grader's or the models' input check refused the decoded image (the reason in the message). */
  | 'model_refused'
  /** Retried while attempts remain (an object may appear late on an eventually consistent store). */
  | 'image_missing'
  /** Infrastructure: retried without counting the attempt. */
  | 's3_unavailable'
  | 'database_unavailable'
  /** A bug or an unknown failure: retried, counted. */
  | 'internal_error'
  /** The worker holding it stopped renewing its lease too often (crash, OOM, lost network). */
  | 'lease_expired';

/**
 * A classified grading failure. `permanent` ones fail the job at once; `infrastructure` ones (S3 or
 * the database unreachable) are retried without counting against the job's attempts.
 */
export class GradingError extends Error {
  readonly code: GradingFailureCode;
  readonly permanent: boolean;
  readonly infrastructure: boolean;

  constructor(
    code: GradingFailureCode,
    message: string,
    {
      permanent = false,
      infrastructure = false,
      cause,
    }: { permanent?: boolean; infrastructure?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause });
    this.name = 'GradingError';
    this.code = code;
    this.permanent = permanent;
    this.infrastructure = infrastructure;
  }
}

/** The job is no longer ours (lease expired and re-claimed, or finished): drop it, write nothing. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

const S3_UNAVAILABLE_NAMES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * True for errors of the S3 client that say "the store is unreachable, overloaded or misconfigured" —
 * including no credentials at all (the SDK's credential chain found none, or a role endpoint failed):
 * like wrong keys (403), a configuration fixed in minutes, not a fault of the job (review r22 F6).
 */
export function isS3Unavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (!e) return false;
  const status = e.$metadata?.httpStatusCode;
  return (
    isCredentialsError(e) ||
    S3_UNAVAILABLE_NAMES.has(e.name ?? '') ||
    NETWORK_CODES.has(e.code ?? '') ||
    (status !== undefined && (status >= 500 || status === 403 || status === 429)) ||
    (e.name === 'Error' && /socket hang up|ECONNREFUSED|ECONNRESET/.test(String((e as Error).message)))
  );
}

/** Any error of a grading attempt as a GradingError (database and S3 outages are infrastructure). */
export function classifyGradingError(err: unknown): GradingError {
  if (err instanceof GradingError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isRetryableDatabaseError(err))
    return new GradingError('database_unavailable', `database unavailable: ${message}`, {
      infrastructure: true,
      cause: err,
    });
  if (isS3Unavailable(err))
    return new GradingError('s3_unavailable', `S3 unavailable: ${message}`, {
      infrastructure: true,
      cause: err,
    });
  return new GradingError('internal_error', message, { cause: err });
}
