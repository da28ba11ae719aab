import { findVisibleAsset } from '../access/scan-detail-query.ts';
import { HttpError } from '../errors.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, route } from './api-route.ts';
import { assetView } from './asset-views.ts';
import { ref } from './common-schemas.ts';
import { notFound } from './request-validation.ts';

/** /assets/{id}: a fresh presigned URL for an image, mask or overlay of a scan the caller may see. */
export function assetRoutes({ sql, signer }: ApiDeps): ApiRoute[] {
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
        const { url } = await signer.sign(asset.bucket, asset.object_key);
        return c.redirect(url, 302);
      },
    }),
  ];
}
