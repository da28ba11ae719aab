// The real `cti-server` for benchmarks: spawned from source on a free port, stopped with SIGTERM.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export type BenchServer = { port: number; pid: number; stop: () => Promise<void> };

/** Spawns `cti-server serve` with `env` added to this process's environment (LOG_LEVEL info: the port is read from the 'listening' line). */
export async function spawnServer(env: Record<string, string>): Promise<BenchServer> {
  const child = spawn(process.execPath, [new URL('../src/main.ts', import.meta.url).pathname], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`cti-server exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'listening' && entry.port) resolve(entry.port);
    });
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { port, pid: child.pid!, stop };
}
