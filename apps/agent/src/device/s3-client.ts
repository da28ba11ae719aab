import { S3Client } from '@aws-sdk/client-s3';
import type { AgentConfig } from '../config/agent-config.ts';

/**
 * The S3 client for uploads and `doctor`. Credentials come from the standard AWS chain (environment,
 * /etc/cti/agent.env through systemd). With a custom endpoint (an S3-compatible store) SDK checksums
 * are computed only when required: such stores may keep aws-chunked framing inside streamed objects
 * (PLATFORM-NOTES); the uploader sends its own x-amz-checksum-sha256 regardless.
 */
export function createS3Client(config: Pick<AgentConfig, 'upload'>): S3Client {
  const { region, endpoint, forcePathStyle } = config.upload;
  return new S3Client({
    region,
    forcePathStyle,
    ...(endpoint
      ? { endpoint, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
  });
}
