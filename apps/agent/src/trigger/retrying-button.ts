import { type Logger, silentLogger } from '@cti/runtime';
import { Gauge, type Registry } from 'prom-client';
import type { Button, ButtonStats } from './button.ts';

/** A button that was opened: it presses until `close` (see open-capture-button.ts). */
export type OpenedButton = Pick<Button, 'onPress' | 'onLongPress' | 'isPressed' | 'stats' | 'stop'> & {
  close(): void;
};

/** What `status` and the heartbeat say about the capture button. */
export type CaptureButtonState = {
  up: boolean;
  /** When the button was found down (ISO, wall clock); null while it is up. */
  down_since: string | null;
  /** The last failure to open it, with the fix it names; null while it is up. */
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

export type RetryingButtonOptions = {
  /** Opens the hardware button; throws when it cannot (the error names the fix). */
  open(): Promise<OpenedButton>;
  log?: Logger;
  metrics?: Registry;
  /** Backoff: the first retry after about `initialDelayMs`, doubling, ±25% jitter, never over `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A button still down is logged again at most this often (an SD card is not a log sink). */
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

const NO_PRESSES: ButtonStats = { presses: 0, longPresses: 0, lockedOut: 0, bounces: 0 };

/**
 * The capture button of `cti-agent run`, kept apart from the hardware under it: when the line cannot
 * be opened (no sysfs GPIO nor gpiomon, a wrong chip label, no permission, a line held by another
 * program) the agent runs on without it — backlog uploads, heartbeats, `cti-agent capture` — and
 * this retries with a capped, jittered backoff until the button opens; presses capture from then on.
 * Listeners given before it opens are kept. `state()` says up or down, since when and why.
 *
 * @example const button = createRetryingButton({ open: () => openCaptureButton(trigger, opts), log });
 * await button.start(); // never throws; button.state().up says whether it opened
 */
export function createRetryingButton({
  open,
  log = silentLogger(),
  metrics,
  initialDelayMs = 2000,
  maxDelayMs = 60_000,
  repeatLogMs = 300_000,
  random = Math.random,
  timers = realRetryTimers,
  wallClock = Date.now,
}: RetryingButtonOptions) {
  const pressListeners = new Set<(pressAt: number) => void>();
  const longListeners = new Set<() => void>();
  let inner: OpenedButton | null = null;
  let stopped = false;
  let timer: unknown = null;
  let nextAt: number | null = null;
  let downSince: number | null = null;
  let error: string | null = null;
  let failures = 0;
  let lastLogAt = Number.NEGATIVE_INFINITY;

  if (metrics) {
    new Gauge({
      name: 'cti_agent_capture_button_up',
      help: '1 while the GPIO capture button is open, 0 while the agent cannot open it and retries',
      registers: [metrics],
      collect() {
        this.set(inner ? 1 : 0);
      },
    });
  }

  const opened = (button: OpenedButton) => {
    inner = button;
    button.onPress((pressAt) => {
      for (const listener of pressListeners) listener(pressAt);
    });
    button.onLongPress(() => {
      for (const listener of longListeners) listener();
    });
    if (downSince !== null) {
      const downForS = Math.round((wallClock() - downSince) / 1000);
      log.info({ downForS, failedAttempts: failures }, 'capture button up again: presses capture');
    }
    downSince = error = null;
    failures = 0;
  };

  const failed = (err: unknown) => {
    error = err instanceof Error ? err.message : String(err);
    failures += 1;
    const delayMs = retryDelayMs(failures, { initialDelayMs, maxDelayMs, random });
    const fields = { err: error, failedAttempts: failures, retryInS: Math.round(delayMs / 100) / 10 };
    if (downSince === null) {
      downSince = wallClock();
      lastLogAt = timers.now();
      log.error(
        fields,
        'capture button cannot be opened: the agent runs on without it (uploads, heartbeat, `cti-agent capture`) and retries',
      );
    } else if (timers.now() - lastLogAt >= repeatLogMs) {
      lastLogAt = timers.now();
      log.warn(fields, 'capture button still down: retrying');
    }
    nextAt = timers.now() + delayMs;
    timer = timers.setTimeout(() => void attempt(), delayMs);
  };

  const attempt = async (): Promise<void> => {
    timer = nextAt = null;
    if (stopped) return;
    let button: OpenedButton;
    try {
      button = await open();
    } catch (err) {
      if (!stopped) failed(err);
      return;
    }
    // Stopped while it was opening (SIGTERM during a gpiomon start): let the line go at once.
    if (stopped) button.close();
    else opened(button);
  };

  const halt = () => {
    stopped = true;
    if (timer !== null) timers.clearTimeout(timer);
    timer = nextAt = null;
  };

  return {
    /** The first attempt; on failure the retries go on in the background. Never throws. */
    start: attempt,
    onPress(listener: (pressAt: number) => void): () => void {
      pressListeners.add(listener);
      return () => pressListeners.delete(listener);
    },
    onLongPress(listener: () => void): () => void {
      longListeners.add(listener);
      return () => longListeners.delete(listener);
    },
    isPressed: () => inner?.isPressed() ?? false,
    stats: () => inner?.stats() ?? { ...NO_PRESSES },
    state: (): CaptureButtonState => ({
      up: inner !== null,
      down_since: downSince === null ? null : new Date(downSince).toISOString(),
      error,
      failed_attempts: failures,
      next_attempt_in_s: nextAt === null ? null : Math.max(0, Math.round((nextAt - timers.now()) / 100) / 10),
    }),
    /** No more retries; the open button's timers stop (the agent stopping). */
    stop(): void {
      halt();
      inner?.stop();
    },
    /** Stop, and let the GPIO line go. */
    close(): void {
      halt();
      inner?.close();
      inner = null;
    },
  };
}

export type RetryingButton = ReturnType<typeof createRetryingButton>;
