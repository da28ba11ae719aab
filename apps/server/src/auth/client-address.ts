import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * The client's address for per-address throttling. With `trustProxyHops` = 0 the socket's peer;
 * behind N proxies that each append to X-Forwarded-For, the Nth entry from the right (entries further
 * left were written by the client and cannot be trusted). 'unknown' without a socket (app.request()).
 */
export function clientAddress(c: Context, trustProxyHops: number): string {
  if (trustProxyHops > 0) {
    const forwarded = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const entry = forwarded[forwarded.length - trustProxyHops];
    if (entry !== undefined) return entry;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
