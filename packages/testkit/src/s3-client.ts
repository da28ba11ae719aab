import { S3Client } from '@aws-sdk/client-s3';

export interface LocalS3ClientOptions {
  endpoint: string;
  region?: string;
}

/**
 * An S3 client for s3rver. s3rver stores a *streamed* PutObject with the aws-chunked framing inside
 * the object unless checksums are only computed when required (PLATFORM-NOTES), so both checksum
 * options are set to WHEN_REQUIRED here; path-style addressing because s3rver has no vhost DNS.
 */
export function createLocalS3Client({ endpoint, region = 'us-east-1' }: LocalS3ClientOptions): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
