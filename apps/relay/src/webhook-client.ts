import { formatProblem, signWebhook } from '@cti/contracts';
import { backoffDelay, type Logger } from '@cti/runtime';
import type { Clock } from './clock.ts';

/** How one webhook delivery ended, after any retries. */
export type DeliveryOutcome =
  | { kind: 'delivered'; status: number; scanId: string | null; attempts: number; response: unknown }
  /** The server refused the request for good (400/401/413/422 …): retrying cannot help. */
  | { kind: 'rejected'; status: number; reason: string; attempts: number }
  /** Transient failures (network, 408, 429, 5xx) outlasted the budget. */
  | { kind: 'failed'; reason: string; attempts: number; status: number | null };

export interface WebhookClientOptions {
  url: string;
  /** The first secret signs. */
  secrets: readonly string[];
  fetch?: typeof globalThis.fetch;
  log: Logger;
  clock: Clock;
  timeoutMs?: number;
  /** Backoff between attempts: capped full jitter. */
  baseMs?: number;
  capMs?: number;
  random?: () => number;
}

export interface DeliverOptions {
  /** Epoch ms after which no new attempt starts. */
  deadline: number;
  signal?: AbortSignal;
}

type Attempt =
  | { done: DeliveryOutcome }
  | { transient: string; status: number | null; retryAfterMs: number | null };

const MAX_REASON = 1000;

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The server's own words for a refusal: `error`, `message` and any JSON-pointer problems. */
export function describeRefusal(status: number, text: string): string {
  let detail = text.trim();
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const parts = [json.error, json.message].filter((p) => typeof p === 'string') as string[];
    if (Array.isArray(json.problems)) {
      parts.push(
        json.problems
          .filter((p): p is { pointer: string; message: string } => typeof p?.pointer === 'string')
          .map(formatProblem)
          .join('; '),
      );
    }
    if (parts.length > 0) detail = parts.join(': ');
  } catch {}
  return `HTTP ${status}${detail ? ` ${detail}` : ''}`.slice(0, MAX_REASON);
}

function scanIdOf(response: unknown): string | null {
  if (typeof response !== 'object' || response === null) return null;
  const r = response as Record<string, unknown>;
  const id = r.scan_id ?? r.scanId ?? r.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Signs and POSTs webhook bodies, retrying transient failures (network errors, timeouts, 408, 429,
 * 5xx, and a 2xx whose body is not the ingest answer with its `scan_id`) with capped full-jitter backoff
 * until `deadline`, honouring Retry-After. Every attempt is signed afresh so a long retry never trips
 * the server's timestamp window. 2xx with a scan id → delivered; any other status
 * (400, 401, 413, 422, 404, a redirect …) → rejected with the server's reason, without retry.
 *
 * @example
 * const client = createWebhookClient({ url, secrets, log, clock: systemClock });
 * const outcome = await client.deliver(JSON.stringify(body), { deadline: Date.now() + 60_000 });
 */
export function createWebhookClient({
  url,
  secrets,
  fetch = globalThis.fetch,
  log,
  clock,
  timeoutMs = 10_000,
  baseMs = 500,
  capMs = 20_000,
  random = Math.random,
}: WebhookClientOptions) {
  const secret = secrets[0];
  if (!secret) throw new TypeError('createWebhookClient: at least one secret is required');

  async function attempt(body: string, attempts: number, signal?: AbortSignal): Promise<Attempt> {
    const headers = {
      'content-type': 'application/json',
      ...signWebhook({ body, secret: secret as string, timestamp: Math.floor(clock.now() / 1000) }),
    };
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = timeout.aborted ? `no response within ${timeoutMs} ms` : (error as Error).message;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return {
        transient: `network: ${reason}${cause ? ` (${cause})` : ''}`,
        status: null,
        retryAfterMs: null,
      };
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      const parsed = parseJson(text);
      const scanId = scanIdOf(parsed);
      if (scanId !== null) return { done: { kind: 'delivered', status, scanId, attempts, response: parsed } };
      // Not the ingest server's answer (a proxy's login page, a wrong URL that takes any POST, a cut-off
      // body): taking it as delivered would lose the capture without a trace, so retry, then fail.
      const snippet = text.trim().slice(0, 200);
      return {
        transient: `HTTP ${status} is not an ingest answer (no scan_id)${snippet ? `: ${snippet}` : ''}`,
        status,
        retryAfterMs: null,
      };
    }
    const location = status >= 300 && status < 400 ? response.headers.get('location') : null;
    // Redirects are not followed (the signed body would go to wherever they point): name the target.
    const reason = location
      ? `HTTP ${status} redirect to ${location.slice(0, 500)}; set CTI_WEBHOOK_URL to the final URL`
      : describeRefusal(status, text);
    if (isTransientStatus(status)) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), clock.now());
      return { transient: reason, status, retryAfterMs };
    }
    return { done: { kind: 'rejected', status, reason, attempts } };
  }

  async function deliver(body: string, { deadline, signal }: DeliverOptions): Promise<DeliveryOutcome> {
    for (let attempts = 1; ; attempts++) {
      const result = await attempt(body, attempts, signal);
      if ('done' in result) return result.done;
      const remaining = deadline - clock.now();
      const delayMs = Math.max(
        backoffDelay(attempts - 1, { baseMs, capMs, random }),
        result.retryAfterMs ?? 0,
      );
      if (remaining <= 0 || (result.retryAfterMs !== null && result.retryAfterMs > remaining)) {
        return {
          kind: 'failed',
          reason: `${result.transient} (gave up after ${attempts} attempt(s); budget spent)`,
          attempts,
          status: result.status,
        };
      }
      log.warn(
        { attempt: attempts, delayMs: Math.min(delayMs, remaining), reason: result.transient },
        'webhook attempt failed; retrying',
      );
      await clock.sleep(Math.min(delayMs, remaining), signal);
    }
  }

  return { deliver };
}

export type WebhookClient = ReturnType<typeof createWebhookClient>;
