import { S3Client } from '@aws-sdk/client-s3';

export interface UploadS3ClientOptions {
  region: string;
  /** S3-compatible endpoint (S3_ENDPOINT); path-style addressing is used when set. */
  endpoint?: string;
  /** SDK-level attempts per request; the uploader's own backoff handles longer outages. */
  maxAttempts?: number;
}

/**
 * The S3 client the uploader expects. Credentials come from the standard AWS chain (environment,
 * shared files, instance/role). Checksums are computed only when an operation requires them: the
 * uploader sends Buffers with an explicit `x-amz-checksum-sha256` (so real S3 verifies every
 * object) and never a streamed body that s3rver-like stores would store with aws-chunked framing.
 */
export function createUploadS3Client({ region, endpoint, maxAttempts = 2 }: UploadS3ClientOptions): S3Client {
  return new S3Client({
    region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    maxAttempts,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
