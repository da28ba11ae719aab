import { S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from './s3-settings.ts';

/**
 * The server's S3 client. Checksums only when an operation requires them: the server reads whole
 * objects and verifies their sha256 itself (against `assets.sha256`), and writes Buffers with an
 * explicit `ChecksumSHA256`, which S3-compatible stores without the flexible-checksum protocol
 * (s3rver, Ceph RGW) would otherwise refuse or store with aws-chunked framing (PLATFORM-NOTES).
 *
 * @example const s3 = createS3Client(loadS3Settings(process.env));
 */
export function createS3Client(
  settings: S3Settings,
  { maxAttempts = 3 }: { maxAttempts?: number } = {},
): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint !== undefined && { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts,
  });
}
