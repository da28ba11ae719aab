import type { Logger } from '@cti/runtime';

/** What `status` and the heartbeat say about a GPIO line the agent retries (capture button, LED, buzzer). */
export type LineState = {
  up: boolean;
  /** When the line was found down (ISO, wall clock); null while it is up. */
  down_since: string | null;
  /** The last failure, with the fix it names; null while it is up. */
  error: string | null;
  /** Failed attempts since it went down. */
  failed_attempts: number;
  /** Seconds until the next attempt; null while it is up. */
  next_attempt_in_s: number | null;
};

/** setTimeout/clearTimeout and a monotonic `now`, injectable so the backoff is tested on a manual clock. */
export type RetryTimers = {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export const realRetryTimers: RetryTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** How a retried line backs off and logs; every field has the capture button's default. */
export type LineRetryOptions = {
  log?: Logger;
  /** Backoff: the first retry after about `initialDelayMs`, doubling, ±25% jitter, never over `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A line still down is logged again at most this often (an SD card is not a log sink). */
  repeatLogMs?: number;
  random?: () => number;
  timers?: RetryTimers;
  wallClock?: () => number;
};

/** The wait before retry number `failures`: `initialDelayMs` doubling, ±25% jitter, capped at `maxDelayMs`. */
export function retryDelayMs(
  failures: number,
  {
    initialDelayMs,
    maxDelayMs,
    random,
  }: { initialDelayMs: number; maxDelayMs: number; random: () => number },
): number {
  return Math.round(Math.min(maxDelayMs, initialDelayMs * 2 ** (failures - 1) * (0.75 + random() * 0.5)));
}

/**
 * The up/down bookkeeping of one retried line: when it went down and why, the failed attempts, the
 * next attempt on a capped, jittered backoff (`retry`), one error line per outage and a warning at most
 * every `repeatLogMs` while it lasts, an info line with the outage's length when it is back.
 *
 * @example const outage = createLineOutage(() => void attempt(), { log });
 * try { line = await open(); outage.recovered('LED works again'); }
 * catch (err) { outage.failed(err, { first: 'LED cannot be driven', repeat: 'LED still down' }); }
 */
export function createLineOutage(
  retry: () => void,
  {
    log,
    initialDelayMs = 2000,
    maxDelayMs = 60_000,
    repeatLogMs = 300_000,
    random = Math.random,
    timers = realRetryTimers,
    wallClock = Date.now,
  }: LineRetryOptions & { log: Logger },
) {
  let timer: unknown = null;
  let nextAt: number | null = null;
  let downSince: number | null = null;
  let error: string | null = null;
  let failures = 0;
  let lastLogAt = Number.NEGATIVE_INFINITY;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };

  return {
    /** The scheduled attempt is running now (call first in it): none is pending. */
    attempting(): void {
      timer = nextAt = null;
    },
    /**
     * A failed attempt (an open, or a write of an open line): counted, the next one scheduled, and
     * logged — `first` at error level when this starts an outage (returns true), else `repeat` as a
     * warning at most every `repeatLogMs`.
     */
    failed(err: unknown, messages: { first: string; repeat: string }): boolean {
      error = err instanceof Error ? err.message : String(err);
      failures += 1;
      const delayMs = retryDelayMs(failures, { initialDelayMs, maxDelayMs, random });
      nextAt = timers.now() + delayMs;
      timer = timers.setTimeout(retry, delayMs);
      const fields = { err: error, failedAttempts: failures, retryInS: Math.round(delayMs / 100) / 10 };
      if (downSince === null) {
        downSince = wallClock();
        lastLogAt = timers.now();
        log.error(fields, messages.first);
        changed();
        return true;
      }
      if (timers.now() - lastLogAt >= repeatLogMs) {
        lastLogAt = timers.now();
        log.warn(fields, messages.repeat);
      }
      return false;
    },
    /** The line works (again): logs `message` with the outage's length if there was one. */
    recovered(message: string): void {
      const since = downSince;
      if (since !== null) {
        const downForS = Math.round((wallClock() - since) / 1000);
        log.info({ downForS, failedAttempts: failures }, message);
      }
      downSince = error = null;
      failures = 0;
      if (since !== null) changed();
    },
    /**
     * `listener` runs when an outage starts and when it ends (not at each retry): systemd's status
     * line follows it. The caller's `state()` already says the new state then. Returns the unsubscribe.
     */
    onChange(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Whether an outage is going on (a failure not followed by a recovery). */
    isDown: (): boolean => downSince !== null,
    /** No more attempts (the agent stopping). */
    halt(): void {
      if (timer !== null) timers.clearTimeout(timer);
      timer = nextAt = null;
    },
    state: (up: boolean): LineState => ({
      up,
      down_since: downSince === null ? null : new Date(downSince).toISOString(),
      error,
      failed_attempts: failures,
      next_attempt_in_s: nextAt === null ? null : Math.max(0, Math.round((nextAt - timers.now()) / 100) / 10),
    }),
  };
}
