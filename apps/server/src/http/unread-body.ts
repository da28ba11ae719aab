import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';

/** Methods whose requests never carry a body (@hono/node-server gives GET and HEAD none). */
const BODILESS = new Set(['GET', 'HEAD']);

/**
 * For answers sent before the request body was read — a 413 on the declared length, a 415, a 401,
 * a 403 CSRF refusal, a 404: reads and discards the rest of the body (at most `drainBytes`, for at
 * most `drainMs`) before the answer goes out, so the connection stays usable for the client's next
 * request; a body beyond either bound gets the answer with `Connection: close` instead, so the client
 * reconnects rather than reusing a socket the server is about to drop (@hono/node-server drains an
 * unread body for only 500 ms after answering, then destroys the socket, while the answer said
 * `keep-alive`: the next request on it failed with ECONNRESET — review r12 F2). Draining is bounded
 * like any body a route reads (the same bytes would have been read for a valid request); closing
 * instead of waiting for a slow or huge body keeps the work per refused request bounded. Only under
 * @hono/node-server (`c.env.incoming`); `app.request()` in tests has no socket to keep.
 *
 * @example api.use(settleUnreadBody({ drainBytes: 8 << 20 }));
 */
export function settleUnreadBody({
  drainBytes,
  drainMs = 5_000,
}: {
  drainBytes: number;
  drainMs?: number;
}): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    if (incoming === undefined || BODILESS.has(c.req.method) || incoming.readableEnded) return;
    if (c.res.headers.get('connection')?.toLowerCase() === 'close') return;
    if (!(await drain(incoming, drainBytes, drainMs))) c.res.headers.set('Connection', 'close');
  };
}

/** Whether the rest of `incoming` was read to its end within the bounds. */
function drain(incoming: IncomingMessage, maxBytes: number, ms: number): Promise<boolean> {
  const declared = incoming.headers['content-length'];
  if (incoming.destroyed || (declared !== undefined && Number(declared) > maxBytes)) {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    let bytes = 0;
    const done = (ended: boolean) => {
      clearTimeout(timer);
      incoming.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) done(false);
    };
    const onEnd = () => done(true);
    const onClose = () => done(incoming.readableEnded);
    const timer = setTimeout(() => done(false), ms);
    incoming.on('data', onData).on('end', onEnd).on('close', onClose).on('error', onClose);
    incoming.resume();
  });
}
