import { findScanDetail } from '../access/scan-detail-query.ts';
import type { ApiDeps } from '../api/api-deps.ts';
import { type ApiRoute, route } from '../api/api-route.ts';
import { object, ref, uuid } from '../api/common-schemas.ts';
import { notFound } from '../api/request-validation.ts';
import { toScanDetail } from '../api/scan-views.ts';
import { correctScan } from './correct-scan.ts';

/** The multipart form of a correction, as the dashboard's mask editor sends it (src/web/README.md). */
export const correctionFormSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['mask'],
  properties: {
    mask: {
      type: 'string',
      contentMediaType: 'image/png',
      description:
        "The corrected ribeye mask: a PNG of exactly the image's size, white (light, opaque) = ribeye, black = background. " +
        'It must be one region (stray regions under 5 % of the largest are dropped; a larger second one is refused) of at ' +
        'least 100 px; holes inside the outline are filled.',
    },
    fat_line: {
      type: 'string',
      description:
        'The fat-thickness line as JSON {"x1","y1","x2","y2"} in image pixels (inside the image, ≥ 1 px long), or empty: ' +
        'then the fat thickness is measured on the corrected mask as the worker measures it.',
    },
    based_on_result_id: {
      ...uuid,
      description:
        'The grading result the correction starts from (the editor sends the one it showed); default the latest.',
    },
  },
};

/** POST /scans/{id}/corrections: a correction by hand of a scan's ribeye outline and fat line. */
export function correctionRoutes({ sql, signer, s3, sessions }: ApiDeps): ApiRoute[] {
  return [
    route<Record<string, never>, FormData>({
      method: 'post',
      path: '/scans/{id}/corrections',
      tag: 'scans',
      summary: 'Correct the ribeye outline and fat line by hand (admins; technicians of the scan’s farm)',
      description:
        'Adds a grading result (model_name "manual", created_by the caller) computed from the corrected mask with the ' +
        "grading worker's feature code, the pixel spacing of the result it corrects, and the mask (and an overlay) " +
        'stored under processed/{capture_id}/. The model’s result is never changed. 409: the scan has no grading result ' +
        'or no image, its stored image cannot be read as recorded, or (stale_base) the result corrected is no ' +
        'longer the scan’s latest — another correction or grading was recorded meanwhile; reload and correct that one. 503: S3 not configured or unavailable.',
      access: 'user',
      form: { schema: correctionFormSchema, encoding: { mask: { contentType: 'image/png' } } },
      responses: {
        201: {
          description:
            'The new grading result; `redirect` is the scan page (the mask editor goes there); Location is the scan in the API, whose detail now lists the result',
          headers: ['Location'],
          schema: object({
            scan_id: uuid,
            redirect: { type: 'string' },
            grading_result: ref('GradingResult'),
          }),
        },
      },
      async handler({ c, principal, params, body }) {
        const { resultId, scanId } = await correctScan({ sql, s3, sessions }, principal, params.id!, body);
        const row = await findScanDetail(sql, principal, scanId);
        const result =
          row && (await toScanDetail(row, signer)).grading_results.find((g) => g.id === resultId);
        if (!result) throw notFound('scan');
        c.header('Location', `/api/v1/scans/${scanId}`);
        return c.json(
          {
            scan_id: scanId,
            redirect: `/scans/${scanId}?done=correction-saved#history`,
            grading_result: result,
          },
          201,
        );
      },
    }),
  ];
}
