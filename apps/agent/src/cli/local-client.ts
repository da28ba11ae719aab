import { readFileSync } from 'node:fs';
import type { AgentConfig } from '../config/agent-config.ts';

/** The service is not running: nothing was sent (connection refused, no such socket). */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
}

/**
 * A read (GET) that reached the service, or found its port taken, but got no answer in time (a hung
 * agent, a stuck event loop): it is running, just not answering. Still a ServiceUnavailableError for
 * callers that only need "no answer".
 */
export class ServiceNotAnsweringError extends ServiceUnavailableError {
  override name = 'ServiceNotAnsweringError';
}

/**
 * The request reached the service but no answer came back (it died or hung mid-request): a POST
 * may or may not have taken effect, e.g. a capture may well have been committed to the outbox.
 */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
}

// Failures that happen before a request is sent: the service is simply not there.
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

// Failures after the connection was taken: the service is there but gave no answer (besides a timeout).
const NO_ANSWER = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function failureCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code;
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
    const code = failureCode(err);
    if (method !== 'GET' && !NOT_CONNECTED.has(code ?? '')) {
      throw new OutcomeUnknownError(
        `the cti-agent service at ${url} took the request but gave no answer (${code ?? (err as Error).name}): ` +
          `outcome unknown — check \`sudo cti-agent outbox list\` before trying again.`,
      );
    }
    if ((err as Error).name === 'TimeoutError' || NO_ANSWER.has(code ?? '')) {
      throw new ServiceNotAnsweringError(
        `the cti-agent service at ${url} took the connection but did not answer (${code ?? (err as Error).name}, ` +
          `${timeoutMs} ms): it may be hung. Fix: see \`journalctl -u cti-agent\`; \`sudo systemctl restart cti-agent\` ` +
          '(its watchdog restarts a stuck agent by itself).',
      );
    }
    throw new ServiceUnavailableError(
      `the cti-agent service does not answer at ${url} (${(err as Error).cause ?? (err as Error).message}). ` +
        'Fix: start it (`sudo systemctl start cti-agent`, logs: `journalctl -u cti-agent`) or check --config.',
    );
  }
  return { status: res.status, json: await res.json().catch(() => null) };
}
