import { createServer, type Server } from 'node:net';

/**
 * `count` distinct TCP ports that are free on 127.0.0.1 right now, for daemons that must be told
 * their port (Ceph's mon and radosgw cannot report one they chose). All are held open together
 * while being picked, so they differ; another process may still take one before the daemon binds.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer().listen(0, '127.0.0.1');
      servers.push(server);
      await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}
