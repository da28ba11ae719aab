import { readFileSync } from 'node:fs';
import type { AgentConfig } from '../config/agent-config.ts';

export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
}

/** Where the running service listens: its runtime file (written at start), else the configured port. */
export function serviceUrl(config: AgentConfig): string {
  try {
    const { host, port } = JSON.parse(readFileSync(config.paths.runtimeFile, 'utf8')) as {
      host: string;
      port: number;
    };
    return `http://${host}:${port}`;
  } catch {
    return `http://${config.http.host}:${config.http.port}`;
  }
}

/** One request to the running agent on 127.0.0.1. */
export async function callService(
  config: AgentConfig,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  { timeoutMs = 10_000, body }: { timeoutMs?: number; body?: unknown } = {},
): Promise<{ status: number; json: unknown }> {
  const url = `${serviceUrl(config)}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (err) {
    throw new ServiceUnavailableError(
      `the cti-agent service does not answer at ${url} (${(err as Error).cause ?? (err as Error).message}). ` +
        'Fix: start it (`sudo systemctl start cti-agent`, logs: `journalctl -u cti-agent`) or check --config.',
    );
  }
  return { status: res.status, json: await res.json().catch(() => null) };
}
