import { type BackoffOptions, backoffDelay, sleep } from './backoff.ts';

export interface RetryOptions extends BackoffOptions {
  /** Total time allowed, first attempt included; no retry starts after it runs out. */
  budgetMs?: number;
  /** Hard limit on attempts (first included). */
  maxAttempts?: number;
  /** Decides whether a failure is worth another attempt; permanent failures are rethrown at once. */
  isRetryable: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log the failure and the delay. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Injectable clock and sleep for tests. */
  now?: () => number;
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
}

/** Thrown when the budget or attempts run out; `cause` is the last failure. */
export class RetryExhaustedError extends Error {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempt(s): ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'RetryExhaustedError';
    this.attempts = attempts;
  }
}

/**
 * Runs `fn` until it succeeds, retrying retryable failures with capped full-jitter backoff inside a
 * time budget. A delay that would overrun the budget is shortened to fit it, so the last attempt
 * still happens before the deadline.
 *
 * @example
 * await retry(() => post(body), { isRetryable: (e) => e instanceof TransientError, budgetMs: 60_000 });
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const {
    budgetMs = Number.POSITIVE_INFINITY,
    maxAttempts = Number.POSITIVE_INFINITY,
    isRetryable,
    onRetry,
  } = options;
  const now = options.now ?? Date.now;
  const wait = options.wait ?? sleep;
  const deadline = now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      const remaining = deadline - now();
      if (attempt + 1 >= maxAttempts || remaining <= 0) throw new RetryExhaustedError(attempt + 1, error);
      const delayMs = Math.min(backoffDelay(attempt, options), remaining);
      onRetry?.({ attempt, delayMs, error });
      await wait(delayMs, options.signal);
    }
  }
}
