import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export type RunningServer = {
  port: number;
  /** Stops accepting, lets in-flight requests finish (idle keep-alive sockets are closed), resolves when done. */
  close(): Promise<void>;
};

/**
 * Listen with Node's HTTP server. Port 0 picks a free port (tests); the bound port is returned.
 *
 * @example const server = await listen({ app, host: '127.0.0.1', port: 0 }); await server.close();
 */
export function listen({
  app,
  host,
  port,
}: {
  app: { fetch: Hono['fetch'] };
  host: string;
  port: number;
}): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      resolve({ port: info.port, close: () => closeServer(server as Server) });
    }) as Server;
    server.once('error', reject);
    // Relays and load balancers keep connections alive; stay above a typical 60 s LB idle timeout.
    server.keepAliveTimeout = 65_000;
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}
