/**
 * The image's HEALTHCHECK. One image runs either `cti-server serve` (HTTP on PORT) or `cti-server worker`
 * (its liveness on CTI_WORKER_PORT); the container's first process says which, so a plain
 * `docker run … worker` is probed on the worker's port without a health-check override.
 * Liveness only: /healthz never touches the database (orchestrators probe the server's /readyz for traffic).
 * Exit 0 healthy, 1 not (the Docker HEALTHCHECK convention).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const DEFAULT_SERVER_PORT = 8080;
const DEFAULT_WORKER_PORT = 9464;

/** The sub-command in a `node …/main.js <command> …` command line (`serve` when none is given). */
export function commandOf(argv: readonly string[]): string {
  const script = argv.findIndex((arg) => /(^|\/)main\.(js|ts)$/.test(arg));
  return (script >= 0 ? argv[script + 1] : undefined) ?? 'serve';
}

/** The liveness URL of the process started with `argv`, under the environment `env`. */
export function healthUrl(argv: readonly string[], env: Record<string, string | undefined>): URL {
  const port =
    commandOf(argv) === 'worker'
      ? (env.CTI_WORKER_PORT ?? String(DEFAULT_WORKER_PORT))
      : (env.PORT ?? String(DEFAULT_SERVER_PORT));
  return new URL(`http://127.0.0.1:${port}/healthz`);
}

/** PID 1's arguments (NUL-separated in /proc); the container's main process. */
export function readCommandLine(path = '/proc/1/cmdline'): string[] {
  return readFileSync(path, 'utf8').split('\0').filter(Boolean);
}

async function check(): Promise<number> {
  const url = healthUrl(readCommandLine(process.env.CTI_HEALTHCHECK_CMDLINE), process.env);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_500) });
    if (res.ok) return 0;
    console.error(`healthcheck: ${url.href} answered ${res.status}`);
  } catch (err) {
    console.error(`healthcheck: ${url.href}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await check();
}
