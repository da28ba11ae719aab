import { findVisibleAsset } from '../access/scan-detail-query.ts';
import { HttpError } from '../errors.ts';
import { StorageUnavailableError } from '../storage/storage-unavailable.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { assetView } from './asset-views.ts';
import { ref } from './common-schemas.ts';
import { notFound } from './request-validation.ts';

/** /assets/{id}: a fresh presigned URL for an image, mask or overlay of a scan the caller may see. */
export function assetRoutes({ sql, signer, config }: ApiDeps): ApiRoute[] {
  const visible = async (principal: Parameters<typeof findVisibleAsset>[1], id: string) => {
    const asset = await findVisibleAsset(sql, principal, id);
    if (!asset) throw notFound('asset');
    return asset;
  };
  return [
    route({
      method: 'get',
      path: '/assets/{id}',
      tag: 'assets',
      summary: 'An asset with a presigned GET URL (≤ 5 min), for users who may see its scan',
      access: 'user',
      responses: { 200: { description: 'The asset', schema: ref('Asset') } },
      async handler({ c, principal, params }) {
        const asset = await visible(principal, params.id!);
        return c.json(await assetView(asset, asset.role, signer));
      },
    }),
    route({
      method: 'get',
      path: '/assets/{id}/content',
      tag: 'assets',
      summary: 'Redirect (302) to a fresh presigned URL — usable as <img src> by pages',
      access: 'user',
      errors: [503],
      responses: { 302: { description: 'To the presigned URL (Location)', headers: ['Location'] } },
      async handler({ c, principal, params }) {
        const asset = await visible(principal, params.id!);
        if (!signer)
          throw new HttpError(
            503,
            'storage_not_configured',
            'this server has no S3 settings (S3_ENDPOINT / AWS_REGION)',
          );
        try {
          const { url } = await signer.sign(asset.bucket, asset.object_key);
          return c.redirect(url, 302);
        } catch (err) {
          if (!(err instanceof StorageUnavailableError)) throw err;
          throw new HttpError(
            503,
            'storage_unavailable',
            'the image store cannot be used now (this server has no S3 credentials); try again shortly',
            { headers: { 'Retry-After': String(config.retryAfterSeconds) }, cause: err },
          );
        }
      },
    }),
  ];
}
