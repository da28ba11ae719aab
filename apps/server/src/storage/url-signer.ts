import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createS3Client } from './s3-client.ts';
import type { S3Settings } from './s3-settings.ts';

export type SignedUrl = { url: string; expires_at: string };

/** Presigns GET URLs for assets; `undefined` signer = S3 not configured (URLs are then null). */
export type UrlSigner = { sign(bucket: string, key: string): Promise<SignedUrl> };

/**
 * Short-lived presigned GET URLs (@aws-sdk/s3-request-presigner), at most 300 s (CTI_SIGNED_URL_TTL_S).
 * Signing is local (no request to S3). `publicEndpoint` (CTI_S3_PUBLIC_ENDPOINT) is the host browsers
 * reach when it differs from the server's S3_ENDPOINT (a compose network name, say): the host is part of
 * the signature, so the URL must be signed for the host that will be asked.
 *
 * @example const signer = createUrlSigner({ settings, ttlSeconds: 300 }); await signer.sign(bucket, key);
 */
export function createUrlSigner({
  settings,
  publicEndpoint,
  ttlSeconds,
  clock = Date.now,
}: {
  settings: S3Settings;
  publicEndpoint?: string | undefined;
  ttlSeconds: number;
  clock?: () => number;
}): UrlSigner {
  if (ttlSeconds > 300) throw new Error('presigned URLs live at most 300 s');
  const client = createS3Client({ ...settings, endpoint: publicEndpoint ?? settings.endpoint });
  return {
    async sign(bucket, key) {
      const signingDate = new Date(clock());
      const expires = new Date(signingDate.getTime() + ttlSeconds * 1000);
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: ttlSeconds,
        signingDate,
      });
      return { url, expires_at: expires.toISOString() };
    },
  };
}
