// Test support (not built): spawn the real programs — the built cti-server (a devDependency, linked
// at node_modules/.bin) and this package's built cti-relay — and stop them the way systemd would.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface Spawned {
  child: ChildProcess;
  /** Every stdout/stderr line so far (JSON log lines are parsed). */
  lines: unknown[];
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
}

function collect(child: ChildProcess, onLine: (line: unknown) => void): unknown[] {
  const lines: unknown[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const text of parts) {
        let line: unknown = text;
        try {
          line = JSON.parse(text);
        } catch {}
        lines.push(line);
        onLine(line);
      }
    });
  }
  return lines;
}

function spawnProgram(
  command: string,
  args: string[],
  env: Record<string, string>,
  onLine: (line: unknown) => void = () => {},
): Spawned {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const lines = collect(child, onLine);
  return {
    child,
    lines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface CtiServer extends Spawned {
  port: number;
  webhookUrl: string;
}

/** Start the real cti-server on 127.0.0.1 (port 0 = any) and wait until it listens. */
export async function startCtiServer({
  databaseUrl,
  secrets,
  buckets,
  port = 0,
}: {
  databaseUrl: string;
  secrets: string[];
  buckets: string[];
  port?: number;
}): Promise<CtiServer> {
  const bin = fileURLToPath(new URL('../node_modules/.bin/cti-server', import.meta.url));
  let listening: (port: number) => void = () => {};
  const ready = new Promise<number>((resolve) => {
    listening = resolve;
  });
  const spawned = spawnProgram(
    bin,
    [],
    {
      DATABASE_URL: databaseUrl,
      CTI_WEBHOOK_SECRETS: secrets.join(','),
      CTI_S3_BUCKETS: buckets.join(','),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
    },
    (line) => {
      const l = line as { msg?: string; port?: number };
      if (l.msg === 'listening' && typeof l.port === 'number') listening(l.port);
    },
  );
  const exited = once(spawned.child, 'exit').then(([code]) => {
    throw new Error(
      `cti-server exited with ${code} before listening:\n${spawned.lines.map((l) => JSON.stringify(l)).join('\n')}`,
    );
  });
  const actual = await Promise.race([ready, exited]);
  return { ...spawned, port: actual, webhookUrl: `http://127.0.0.1:${actual}/ingest/webhook` };
}

/** Start the built `cti-relay` with a command and environment. */
export function startRelayCli(args: string[], env: Record<string, string>): Spawned {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  return spawnProgram(process.execPath, [cli, ...args], env);
}
