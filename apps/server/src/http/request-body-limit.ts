import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

type BodyLimitOptions = Parameters<typeof bodyLimit>[0];

/** Methods whose requests never carry a body (@hono/node-server gives GET and HEAD none; fetch forbids one). */
const BODILESS = new Set(['GET', 'HEAD']);

/**
 * hono/body-limit for the requests that can have a body. Hono's middleware reads `c.req.raw.body`
 * first, which makes @hono/node-server build a full WHATWG Request for every GET (measured: ~0.09 ms
 * of CPU per request, bench:api) only to find no body; a GET or HEAD goes straight on, as it did there.
 *
 * @example app.use(requestBodyLimit({ maxSize: 1024 * 1024 }));
 */
export function requestBodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const limit = bodyLimit(options);
  return (c, next) => (BODILESS.has(c.req.method) ? next() : limit(c, next));
}
