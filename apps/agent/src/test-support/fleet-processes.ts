// Test support (not built): the real programs of the heartbeat path, spawned — the built cti-server (a
// devDependency, linked at node_modules/.bin) and this package's cti-agent from source.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@cti/testkit';

const SERVER_BIN = fileURLToPath(new URL('../../node_modules/.bin/cti-server', import.meta.url));
const AGENT_CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));

export type Spawned = { child: ChildProcess; output: () => string; stop(): Promise<number | null> };

function start(command: string, args: string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** `cti-server <args>` to completion (e.g. `device add`). */
export function runServerCommand(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(SERVER_BIN, args, { env: { PATH: process.env.PATH, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `cti-server serve` on 127.0.0.1 (any port); resolves once it listens. */
export async function startServer(env: Record<string, string>): Promise<Spawned & { url: string }> {
  const server = start(SERVER_BIN, ['serve'], {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    PORT: '0',
    ...env,
  });
  const port = await waitFor(
    () => {
      for (const line of server.output().split('\n')) {
        if (line.includes('"msg":"listening"')) return (JSON.parse(line) as { port: number }).port;
      }
      return undefined;
    },
    { what: `cti-server listening; output: ${server.output()}`, timeoutMs: 30_000 },
  );
  return { ...server, url: `http://127.0.0.1:${port}` };
}

/** `cti-agent --config <file> run`; resolves once its local API is up. */
export async function startAgent(
  configFile: string,
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Spawned> {
  const runtime = join(dataDir, 'agent-http.json');
  rmSync(runtime, { force: true });
  const agent = start(process.execPath, [AGENT_CLI, '--config', configFile, 'run'], {
    ...process.env,
    ...env,
  });
  await waitFor(() => existsSync(runtime) || agent.child.exitCode !== null, {
    what: 'agent ready',
    timeoutMs: 30_000,
  });
  if (agent.child.exitCode !== null)
    throw new Error(`cti-agent exited ${agent.child.exitCode}: ${agent.output()}`);
  return agent;
}

/** `cti-agent --config <file> <args>` to completion. */
export function runAgentCommand(configFile: string, args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [AGENT_CLI, '--config', configFile, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** GET /status of the running agent straight from its local API (cheaper than spawning `cti-agent status`). */
// biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary status fields
export async function fetchAgentStatus(dataDir: string): Promise<any> {
  const { host, port } = JSON.parse(readFileSync(join(dataDir, 'agent-http.json'), 'utf8')) as {
    host: string;
    port: number;
  };
  return (await fetch(`http://${host}:${port}/status`)).json();
}
