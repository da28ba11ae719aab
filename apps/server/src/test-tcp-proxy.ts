// A TCP pipe the tests control, between the app's pool and Postgres: cutting it is a real network
// outage for postgres.js (reset sockets, then refused connections), without touching the shared cluster;
// freezing it is a silent one (open connections, nothing forwarded, nothing closed).
import { connect, createServer, type Server, type Socket } from 'node:net';

export type TcpProxy = {
  port: number;
  /** Destroys every piped connection and stops listening: new connections are refused. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /**
   * A frozen path, as with a hung host or a black-holed network: piped connections stop forwarding in
   * both directions and new ones are accepted and never answered. Nothing is closed and no RST is
   * sent; the database's side of a frozen connection stays open (it never learns the client left).
   */
  freeze(): void;
  /**
   * Freezes only the first connection on which the client sends a chunk that `match` accepts, from
   * that chunk on (the chunk itself is not forwarded).
   */
  freezeWhen(match: (chunk: Buffer) => boolean): void;
  /**
   * Freezes, now, every piped connection on which the client has sent a chunk that `match` accepts
   * (within its first 64 KiB): one connection of a pool — its LISTEN connection, say — falls silent
   * while the others and new ones go on working. Returns how many it froze.
   */
  freezeOpen(match: (chunk: Buffer) => boolean): number;
  /** New connections are piped again; frozen ones stay frozen. */
  thaw(): void;
  /** Connections frozen so far. */
  frozenCount(): number;
  close(): Promise<void>;
};

/** What freezeOpen looks at: the first chunks a client sent on a connection. */
const KEPT_BYTES = 64 * 1024;

type Link = { frozen: boolean; sent: Buffer[]; sentBytes: number };

export async function startTcpProxy({ host, port }: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const links = new Set<Link>();
  let frozenAll = false;
  let frozenCount = 0;
  let freezeOn: ((chunk: Buffer) => boolean) | undefined;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const freezeLink = (link: Link) => {
    if (!link.frozen) frozenCount++;
    link.frozen = true;
  };
  const server: Server = createServer((client) => {
    track(client);
    if (frozenAll) {
      frozenCount++;
      client.resume(); // read and drop
      return;
    }
    const upstream = connect({ host, port });
    track(upstream);
    const link: Link = { frozen: false, sent: [], sentBytes: 0 };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.sentBytes < KEPT_BYTES) {
        link.sent.push(chunk);
        link.sentBytes += chunk.length;
      }
      if (!link.frozen && freezeOn?.(chunk)) {
        freezeOn = undefined;
        freezeLink(link);
      }
      if (!link.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.frozen) client.write(chunk);
    });
    client.on('close', () => {
      links.delete(link);
      if (!link.frozen) upstream.destroy();
    });
    upstream.on('close', () => {
      if (!link.frozen) client.destroy();
    });
  });
  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const boundPort = (server.address() as { port: number }).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (server.listening) server.close(() => resolve());
      else resolve();
    });
  return {
    port: boundPort,
    cut: stop,
    restore: () => listen(boundPort),
    freeze() {
      frozenAll = true;
      for (const link of links) freezeLink(link);
    },
    freezeWhen(match) {
      freezeOn = match;
    },
    freezeOpen(match) {
      let frozen = 0;
      for (const link of links) {
        if (link.frozen || !link.sent.some(match)) continue;
        freezeLink(link);
        frozen++;
      }
      return frozen;
    },
    thaw() {
      frozenAll = false;
    },
    frozenCount: () => frozenCount,
    close: stop,
  };
}
