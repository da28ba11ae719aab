import type { AssetRow } from '../access/scan-detail-query.ts';
import { StorageUnavailableError } from '../storage/storage-unavailable.ts';
import type { SignedUrl, UrlSigner } from '../storage/url-signer.ts';
import type { JsonSchema } from './api-route.ts';

export type AssetView = {
  id: string;
  role: string;
  mime_type: string | null;
  size_bytes: number | null;
  sha256: string;
  url: string | null;
  url_expires_at: string | null;
};

/** A presigned URL, or undefined while no URL can be signed (no S3 credentials: the signer logs it once). */
async function signedUrl(signer: UrlSigner, asset: AssetRow): Promise<SignedUrl | undefined> {
  try {
    return await signer.sign(asset.bucket, asset.object_key);
  } catch (err) {
    if (err instanceof StorageUnavailableError) return undefined;
    throw err;
  }
}

/**
 * An asset with a fresh presigned URL: null when S3 is not configured on this server, or while it has
 * no S3 credentials (review r22 F15: the detail still answers).
 */
export async function assetView(
  asset: AssetRow,
  role: string,
  signer: UrlSigner | undefined,
): Promise<AssetView> {
  const signed = signer ? await signedUrl(signer, asset) : undefined;
  return {
    id: asset.id,
    role,
    mime_type: asset.mime_type,
    size_bytes: asset.size_bytes === null ? null : Number(asset.size_bytes),
    sha256: asset.sha256,
    url: signed?.url ?? null,
    url_expires_at: signed?.expires_at ?? null,
  };
}

export const assetSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'role', 'mime_type', 'size_bytes', 'sha256', 'url', 'url_expires_at'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', format: 'uuid' },
    role: { type: 'string', description: 'image, mask, overlay, … (grading outputs carry their link role)' },
    mime_type: { type: ['string', 'null'] },
    size_bytes: { type: ['integer', 'null'] },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    url: {
      type: ['string', 'null'],
      format: 'uri',
      description: 'Presigned GET URL, valid until url_expires_at (≤ 5 min).',
    },
    url_expires_at: { type: ['string', 'null'], format: 'date-time' },
  },
};
