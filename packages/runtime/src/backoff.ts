export interface BackoffOptions {
  /** Delay scale for the first retry, in ms. */
  baseMs?: number;
  /** Upper bound of any single delay, in ms. */
  capMs?: number;
  /** Source of randomness in [0, 1); injectable for deterministic tests. */
  random?: () => number;
}

/**
 * Capped full-jitter exponential backoff (AWS architecture blog, "Exponential Backoff and Jitter"):
 * a uniformly random delay in [0, min(cap, base · 2^attempt)). Full jitter spreads a fleet of Pis or
 * relays that failed together so they do not retry in lock-step. `attempt` counts from 0.
 *
 * @example
 * await sleep(backoffDelay(attempt, { baseMs: 1000, capMs: 300_000 }));
 */
export function backoffDelay(
  attempt: number,
  { baseMs = 1000, capMs = 300_000, random = Math.random }: BackoffOptions = {},
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 52));
  return Math.floor(random() * ceiling);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
