import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DenyProxy {
  endpoint: string;
  /** Requests answered with 403 so far, as "METHOD /path". */
  denied: string[];
  /** Requests held open without an answer (a stalled link), as "METHOD /path". */
  held: string[];
  close(): Promise<void>;
}

const ACCESS_DENIED = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>deny-proxy</RequestId></Error>`;

/**
 * A real HTTP reverse proxy in front of an S3-compatible server that answers 403 AccessDenied (the
 * S3 XML error) for requests `deny` selects, never answers those `hold` selects (a stalled upload),
 * and forwards everything else byte for byte. s3rver has no access policies, so this is how a test
 * meets a real permanent error without mocking the SDK.
 */
export async function startDenyProxy({
  target,
  deny = () => false,
  hold = () => false,
}: {
  target: string;
  deny?: (method: string, path: string) => boolean;
  hold?: (method: string, path: string) => boolean;
}): Promise<DenyProxy> {
  const upstream = new URL(target);
  const denied: string[] = [];
  const held: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '/');
    if (deny(req.method ?? 'GET', path)) {
      denied.push(`${req.method} ${path}`);
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' }).end(ACCESS_DENIED);
      return;
    }
    if (hold(req.method ?? 'GET', path)) {
      held.push(`${req.method} ${path}`);
      req.resume();
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    denied,
    held,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
