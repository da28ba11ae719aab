import { S3Client } from '@aws-sdk/client-s3';

export interface LocalS3ClientOptions {
  endpoint: string;
  region?: string;
  /** s3rver accepts any; RGW needs its user's keys. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * An S3 client for s3rver or Ceph RGW. s3rver stores a *streamed* PutObject with the aws-chunked
 * framing inside the object, and RGW refuses one with 411, unless checksums are only computed when
 * required (PLATFORM-NOTES), so both checksum options are set to WHEN_REQUIRED here; path-style
 * addressing because neither has vhost DNS here.
 */
export function createLocalS3Client({
  endpoint,
  region = 'us-east-1',
  credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
}: LocalS3ClientOptions): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
