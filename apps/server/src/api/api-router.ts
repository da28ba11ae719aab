import { DRAIN_FACTOR } from '@cti/runtime';
import { Hono } from 'hono';
import { requireCsrfHeader } from '../auth/csrf-protection.ts';
import type { AuthVariables } from '../auth/principal.ts';
import { requireAdmin, requirePrincipal } from '../auth/session-middleware.ts';
import { HttpError } from '../errors.ts';
import { settleUnreadBody } from '../http/unread-body.ts';
import { canonicalUuid } from '../text/uuid.ts';
import { type ApiRoute, honoPath, type QueryParam } from './api-route.ts';
import {
  BODY_LIMIT_BYTES,
  compileQuerySchema,
  compileSchema,
  isInt8Id,
  notFound,
  readFormBody,
  readJsonBody,
  readQuery,
} from './request-validation.ts';

export const API_PREFIX = '/api/v1';
/**
 * The query parameters of a route that takes none: one object, so its validator is compiled once (the
 * validators are cached by schema object; a fresh `{}` per request compiled an Ajv schema every time,
 * ~0.5 ms of CPU per scan detail).
 */
const NO_QUERY: Record<string, QueryParam> = {};

/**
 * Mounts `routes` under /api/v1: 1 MiB body limit (an unread body drained or the connection closed), the CSRF header check for cookie sessions, the
 * route's access level, uuid path parameters (anything else is a 404, like a missing row), query and
 * body validation. Expects the principal to have been loaded by the app (session middleware), which
 * also makes every answer `Cache-Control: no-store` (answers are private and may hold presigned URLs).
 */
export function createApiRouter(routes: readonly ApiRoute[]): Hono<{ Variables: AuthVariables }> {
  const api = new Hono<{ Variables: AuthVariables }>();
  // An answer given before the body was read leaves the connection usable (or says it closes).
  api.use(settleUnreadBody({ drainBytes: BODY_LIMIT_BYTES * DRAIN_FACTOR }));
  // A declared length over the limit is refused unread; a chunked body is counted as it is read
  // (readJsonBody, readFormBody). hono/body-limit turned the body into a web stream first, which
  // stopped an unread body from ever being drained (review r12 F2).
  api.use(async (c, next) => {
    const declared = c.req.header('content-length');
    if (declared !== undefined && Number(declared) > BODY_LIMIT_BYTES) {
      throw new HttpError(413, 'body_too_large', `the body is larger than ${BODY_LIMIT_BYTES} bytes`);
    }
    await next();
  });
  api.use(requireCsrfHeader());
  const allowed = methodsByPath(routes);
  for (const r of routes) {
    // Compile every schema now: a schema Ajv refuses fails at start-up, not on the first request.
    if (r.body) compileSchema(r.body);
    if (r.query) compileQuerySchema(r.query);
    api.on(r.method.toUpperCase(), honoPath(r.path), async (c) => {
      // `PATCH /scans/counts` matches `PATCH /scans/{id}` first; a fixed path answers for itself with
      // its 405 (the catch-alls below only see what no route matched — review r13 F5).
      const fixed = r.path.includes('{') ? allowed.get(c.req.path.slice(API_PREFIX.length)) : undefined;
      if (fixed) throw methodNotAllowed(c.req.method, c.req.path, fixed);
      const principal =
        r.access === 'admin'
          ? requireAdmin(c)
          : r.access === 'user'
            ? requirePrincipal(c)
            : c.get('principal');
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(c.req.param() as Record<string, string>)) {
        // Uuids as Postgres prints them, so no handler compares differently-cased text (review r12 F5).
        const id =
          r.params?.[name] === 'integer' ? (isInt8Id(value) ? value : undefined) : canonicalUuid(value);
        if (id === undefined) throw notFound(r.tag.replace(/s$/, ''));
        params[name] = id;
      }
      const query = readQuery(c, r.query ?? NO_QUERY);
      const body = r.body ? await readJsonBody(c, r.body) : r.form ? await readFormBody(c) : undefined;
      return r.handler({ c, principal: principal!, params, query, body });
    });
  }
  // A path the API has, asked with a method it does not take: 405 with the methods it does (RFC 9110
  // §15.5.6), and OPTIONS 204 with the same Allow. No CORS headers: a cross-site preflight stays
  // ungranted. Registered after the routes, so it only answers what none of them matched (review r12 F11).
  for (const [path, methods] of allowed) {
    api.all(honoPath(path), (c) => {
      if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: methods.join(', ') });
      throw methodNotAllowed(c.req.method, `${API_PREFIX}${path}`, methods);
    });
  }
  return api;
}

const methodNotAllowed = (method: string, path: string, methods: string[]) => {
  const allow = methods.join(', ');
  return new HttpError(405, 'method_not_allowed', `${method} is not a method of ${path}; it takes ${allow}`, {
    headers: { Allow: allow },
  });
};

/** Each path template with the methods its routes take (HEAD with GET, OPTIONS always). */
function methodsByPath(routes: readonly ApiRoute[]): Map<string, string[]> {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const methods = byPath.get(r.path) ?? new Set<string>();
    methods.add(r.method.toUpperCase());
    if (r.method === 'get') methods.add('HEAD');
    byPath.set(r.path, methods);
  }
  // Fixed paths first: `/scans/counts` answers for itself, not as `/scans/{id}`.
  const params = (path: string) => path.split('{').length;
  return new Map(
    [...byPath]
      .sort(([a], [b]) => params(a) - params(b))
      .map(([path, methods]) => [path, [...methods, 'OPTIONS']]),
  );
}
