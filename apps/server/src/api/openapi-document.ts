import type { ApiRoute, JsonSchema, ResponseHeader } from './api-route.ts';
import { API_PREFIX } from './api-router.ts';
import { errorSchema, uuid } from './common-schemas.ts';

const ERROR_STATUSES: Record<number, string> = {
  400: 'Malformed JSON, a JSON body that is not UTF-8 (`invalid_json`), or a malformed multipart body',
  401: 'Not signed in (or the session ended)',
  403: 'Signed in, but the role or the CSRF check does not allow it',
  404: 'No such resource — or one the caller may not see (the same answer)',
  409: 'Conflicts with existing data (duplicate, still referenced, last owner/admin)',
  413: 'A body declared (Content-Length) larger than 1 MiB: refused before the route runs, whatever the method and whether or not the route reads a body, so nothing was done',
  415: 'Body is not application/json (multipart/form-data for a mask correction)',
  422: 'Invalid fields or parameters; `problems` names each one',
  429: 'Too many requests (failed sign-ins, account requests from one address, more exports of one user at once: `too_many_exports`); see Retry-After',
  503: 'The database is unavailable (retry after Retry-After), S3 is not configured (`storage_not_configured`) or the server has no S3 credentials (`storage_unavailable`, retry after Retry-After) for assets/{id}/content, or too many exports are streaming at once (`exports_busy`, exports only; retry after Retry-After)',
};

/**
 * The response headers a client reads, as components/headers. Retry-After comes with every 429 and
 * with the 503s a retry can cure (database unavailable, exports busy, image store unavailable); the
 * 503 `storage_not_configured` has none: waiting does not configure S3.
 */
const HEADERS: Record<ResponseHeader | 'Retry-After', { component: string; header: JsonSchema }> = {
  Location: {
    component: 'Location',
    header: {
      description: 'Where the answer points (an absolute URL, or a path on this server).',
      required: true,
      schema: { type: 'string', format: 'uri-reference' },
    },
  },
  'Content-Disposition': {
    component: 'ContentDisposition',
    header: {
      description:
        'A download: `attachment; filename="cti-scans-<farm or all>-<UTC time>.<ext>"` (the farm name reduced to lower-case ASCII letters, digits and dashes).',
      required: true,
      schema: { type: 'string', pattern: '^attachment; filename="[A-Za-z0-9._-]+"$' },
    },
  },
  'Retry-After': {
    component: 'RetryAfter',
    header: {
      description:
        'Seconds to wait before trying again (RFC 9110 §10.2.3): sent with every 429 and with each 503 a retry can cure — not with `storage_not_configured`.',
      schema: { type: 'integer', minimum: 1 },
    },
  },
};

const headerRefs = (names: readonly (ResponseHeader | 'Retry-After')[]) =>
  Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${HEADERS[n].component}` }]));

/** Which error answers a route can give, from its access level and inputs. */
function errorStatuses(r: ApiRoute): number[] {
  // 413 for every route: the body limit is checked on a declared length before any route runs, also
  // where the route reads no body (review r12 F12).
  const out = [413, 422, 503];
  if (r.access !== 'public') out.push(401, 404);
  if (r.access === 'admin' || r.method !== 'get') out.push(403, 409);
  if (r.body || r.form) out.push(400, 415);
  for (const status of r.errors ?? []) if (!out.includes(status)) out.push(status);
  return out.sort();
}

/**
 * The OpenAPI 3.1 document of /api/v1, built from the same route objects the router serves, so a
 * route cannot exist without its description. Served at /api/openapi.json.
 */
export function buildOpenApiDocument(routes: readonly ApiRoute[], schemas: Record<string, JsonSchema>) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema:
        r.params?.[m[1]!] === 'integer'
          ? // A bigint id as the decimal string the answers carry (a JSON integer read into a
            // JavaScript number is not exact past 2^53; generated clients would round it: review r12 F7).
            {
              type: 'string',
              pattern: '^[1-9][0-9]{0,18}$',
              description: 'A positive 64-bit integer id, as the decimal string the answers give.',
            }
          : uuid,
    }));
    const query = Object.entries(r.query ?? {}).map(([name, p]) => ({
      name,
      in: 'query',
      required: p.required ?? false,
      description: p.description,
      schema: p.schema,
    }));
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      responses[status] = {
        description: res.description,
        ...(res.headers ? { headers: headerRefs(res.headers) } : {}),
        ...(res.schema
          ? { content: { [res.contentType ?? 'application/json']: { schema: res.schema } } }
          : {}),
      };
    }
    for (const status of errorStatuses(r))
      responses[String(status)] = { $ref: `#/components/responses/E${status}` };
    const path = `${API_PREFIX}${r.path}`;
    paths[path] ??= {};
    paths[path][r.method] = {
      operationId: `${r.method}${r.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
      tags: [r.tag],
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      ...(pathParams.length + query.length > 0 ? { parameters: [...pathParams, ...query] } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } }
        : {}),
      ...(r.form
        ? {
            requestBody: {
              required: true,
              content: {
                'multipart/form-data': {
                  schema: r.form.schema,
                  ...(r.form.encoding ? { encoding: r.form.encoding } : {}),
                },
              },
            },
          }
        : {}),
      ...(r.access === 'public' ? { security: [] } : {}),
      'x-access': r.access,
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'CTI dashboard API',
      version: '1.0.0',
      description:
        'Role-scoped access to scans, grading results, farms, animals, groups, devices, users and notifications. ' +
        'Sign in with POST /api/v1/session; the session lives in an HttpOnly cookie. Every POST/PATCH/PUT/DELETE ' +
        'made with the cookie must send the X-CSRF-Token header (from the sign-in answer or GET /api/v1/session). ' +
        'Who may call what: docs/access-matrix.md. Timestamps are RFC 3339 in UTC. ' +
        'A method a path does not take is a 405 `method_not_allowed` with an Allow header; OPTIONS answers 204 with Allow (no CORS).',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/' }],
    security: [{ sessionCookie: [] }],
    paths,
    components: {
      securitySchemes: {
        sessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-cti_session' },
      },
      schemas: { Error: errorSchema, ...schemas },
      headers: Object.fromEntries(Object.values(HEADERS).map((h) => [h.component, h.header])),
      responses: Object.fromEntries(
        Object.entries(ERROR_STATUSES).map(([status, description]) => [
          `E${status}`,
          {
            description,
            ...(status === '429' || status === '503' ? { headers: headerRefs(['Retry-After']) } : {}),
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        ]),
      ),
    },
  };
}
