import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export type RunningServer = {
  port: number;
  /** Stops accepting, lets in-flight requests finish (idle keep-alive sockets are closed), resolves when done. */
  close(): Promise<void>;
};

/** What an operator should read for the listen errors a misconfiguration gives. */
function listenProblem(err: NodeJS.ErrnoException, host: string, port: number): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use on ${host} (another process listens there)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `host "${host}" does not resolve to an address`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine`;
    case 'EACCES':
      return `not allowed to listen on port ${port} (ports below 1024 need privileges)`;
    default:
      return err.message;
  }
}

/**
 * The HTTP listener could not start: a bad host or port setting, not the database. `settings` names
 * the environment variables that chose them, so the one line printed for it says what to change.
 */
export class ListenError extends Error {
  readonly code = 'listen_failed';
  constructor(host: string, port: number, settings: string, cause: NodeJS.ErrnoException) {
    super(
      `cannot listen on ${host}:${port} (${settings}): ${listenProblem(cause, host, port)} [${cause.code ?? 'unknown'}]`,
      {
        cause,
      },
    );
  }
}

/**
 * Listen with Node's HTTP server. Port 0 picks a free port (tests); the bound port is returned. A
 * failure to listen rejects with a ListenError naming `settings` (default `HOST, PORT`).
 *
 * @example const server = await listen({ app, host: '127.0.0.1', port: 0 }); await server.close();
 */
export function listen({
  app,
  host,
  port,
  settings = 'HOST, PORT',
}: {
  app: { fetch: Hono['fetch'] };
  host: string;
  port: number;
  settings?: string;
}): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      resolve({ port: info.port, close: () => closeServer(server as Server) });
    }) as Server;
    server.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError(host, port, settings, err)));
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
