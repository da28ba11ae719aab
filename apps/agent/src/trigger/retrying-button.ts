import { silentLogger } from '@cti/runtime';
import { Gauge, type Registry } from 'prom-client';
import type { Button, ButtonStats } from './button.ts';
import { createLineOutage, type LineRetryOptions, type LineState } from './line-outage.ts';

/**
 * A button that was opened: it presses until `close`, or until it reports through `onFailure` that its
 * line stopped working (see open-capture-button.ts).
 */
export type OpenedButton = Pick<Button, 'onPress' | 'onLongPress' | 'isPressed' | 'stats' | 'stop'> & {
  /** Runs `listener` once when the line is lost (at once if it already is); returns the unsubscribe. */
  onFailure(listener: (err: Error) => void): () => void;
  close(): void;
};

/** What `status` and the heartbeat say about the capture button. */
export type CaptureButtonState = LineState;

export type RetryingButtonOptions = LineRetryOptions & {
  /** Opens the hardware button; throws when it cannot (the error names the fix). */
  open(): Promise<OpenedButton>;
  metrics?: Registry;
};

const NO_PRESSES: ButtonStats = { presses: 0, longPresses: 0, lockedOut: 0, bounces: 0 };

const addStats = (a: ButtonStats, b: ButtonStats): ButtonStats => ({
  presses: a.presses + b.presses,
  longPresses: a.longPresses + b.longPresses,
  lockedOut: a.lockedOut + b.lockedOut,
  bounces: a.bounces + b.bounces,
});

/**
 * The capture button of `cti-agent run`, kept apart from the hardware under it: when the line cannot
 * be opened (no sysfs GPIO nor gpiomon, a wrong chip label, no permission, a line held by another
 * program) the agent runs on without it — backlog uploads, heartbeats, `cti-agent capture` — and
 * this retries with a capped, jittered backoff until the button opens; presses capture from then on.
 * A button that opened and then fails (its sysfs line unexported or failing reads, gpiomon exiting
 * for good) is down the same way: let go and re-opened on the same backoff. Listeners given before it
 * opens are kept. `state()` says up or down, since when and why.
 *
 * @example const button = createRetryingButton({ open: () => openCaptureButton(trigger, opts), log });
 * await button.start(); // never throws; button.state().up says whether it opened
 */
export function createRetryingButton({
  open,
  metrics,
  log = silentLogger(),
  ...retry
}: RetryingButtonOptions) {
  const pressListeners = new Set<(pressAt: number) => void>();
  const longListeners = new Set<() => void>();
  let inner: OpenedButton | null = null;
  /** Presses of buttons lost since the start: `stats()` counts the agent's, not the last open's. */
  let carried: ButtonStats = { ...NO_PRESSES };
  let stopped = false;
  const outage = createLineOutage(() => void attempt(), { ...retry, log });

  if (metrics) {
    new Gauge({
      name: 'cti_agent_capture_button_up',
      help: '1 while the GPIO capture button is open and working, 0 while it is down (cannot be opened, or stopped working) and retried',
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
    outage.recovered('capture button up again: presses capture');
    // Last: a button that failed already (between its open and now) goes down after the line above.
    button.onFailure((err) => lost(button, err));
  };

  /** The open button's line stopped working: let it go, down since now, re-opened on the backoff. */
  const lost = (button: OpenedButton, err: Error) => {
    if (inner !== button || stopped) return;
    inner = null;
    carried = addStats(carried, button.stats());
    try {
      button.close();
    } catch {
      // Expected now and then: unexporting a line that is gone fails too; its fd is closed first.
    }
    outage.failed(err, {
      first:
        'capture button stopped working: presses capture nothing until it is back; the agent re-opens it and runs on (uploads, heartbeat, `cti-agent capture`)',
      repeat: 'capture button still down: retrying',
    });
  };

  const attempt = async (): Promise<void> => {
    outage.attempting();
    if (stopped) return;
    let button: OpenedButton;
    try {
      button = await open();
    } catch (err) {
      if (!stopped)
        outage.failed(err, {
          first:
            'capture button cannot be opened: the agent runs on without it (uploads, heartbeat, `cti-agent capture`) and retries',
          repeat: 'capture button still down: retrying',
        });
      return;
    }
    // Stopped while it was opening (SIGTERM during a gpiomon start): let the line go at once.
    if (stopped) button.close();
    else opened(button);
  };

  const halt = () => {
    stopped = true;
    outage.halt();
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
    stats: () => addStats(carried, inner?.stats() ?? NO_PRESSES),
    state: (): CaptureButtonState => outage.state(inner !== null),
    /** Runs `listener` when the button goes down or comes back; returns the unsubscribe. */
    onStateChange: outage.onChange,
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
