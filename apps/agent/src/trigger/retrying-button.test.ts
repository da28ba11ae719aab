import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, createMetricsRegistry } from '@cti/runtime';
import { createManualTimers } from '../test-support/manual-timers.ts';
import { createButton, type Level } from './button.ts';
import { GpioUnavailableError } from './gpio-lines.ts';
import { createRetryingButton, type OpenedButton } from './retrying-button.ts';

// The retry loop on a manual clock: the hardware is an `open` that fails until the test says the line
// is there, then a real debouncer fed with injected edges (no GPIO interrupt exists here).

const NO_GPIO = new GpioUnavailableError(
  'no_sysfs_gpio',
  'GPIO sysfs interface /sys/class/gpio does not exist, and gpiodetect is not installed (or not on PATH). Fix: install libgpiod tools',
);

function rig({ random = () => 0.5 }: { random?: () => number } = {}) {
  const timers = createManualTimers(0);
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    name: 'test',
    level: 'info',
    destination: { write: (s: string) => lines.push(JSON.parse(s)) },
  });
  const metrics = createMetricsRegistry({ prefix: 'cti_agent_' });
  let present = false;
  let level: Level = 1;
  let attempts = 0;
  let closed = 0;
  let hardware: ReturnType<typeof createButton> | null = null;
  let failureListeners = new Set<(err: Error) => void>();
  const open = async (): Promise<OpenedButton> => {
    attempts += 1;
    if (!present) throw NO_GPIO;
    const opened = createButton({ pressedLevel: 0, readLevel: () => level, debounceMs: 10, timers });
    hardware = opened;
    const listeners = new Set<(err: Error) => void>();
    failureListeners = listeners;
    return {
      ...opened,
      onFailure: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      close: () => {
        closed += 1;
        opened.stop();
      },
    };
  };
  const button = createRetryingButton({
    open,
    log,
    metrics,
    timers,
    random,
    wallClock: () => Date.UTC(2026, 11, 7, 6, 0, 0) + timers.now(),
  });
  /** Moves the clock and lets the retry's promise settle. */
  const advance = async (ms: number) => {
    timers.advance(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  const press = (l: Level) => {
    level = l;
    hardware!.edge();
  };
  const gauge = async () => /^cti_agent_capture_button_up (\d)$/m.exec(await metrics.metrics())?.[1];
  return {
    timers,
    button,
    lines,
    advance,
    press,
    gauge,
    attempts: () => attempts,
    closed: () => closed,
    appear: () => {
      present = true;
    },
    /** The open line stops working (as gpiomon exiting for good, or an unexported sysfs line, reports it). */
    lose: (err: Error) => {
      present = false;
      for (const listener of failureListeners) listener(err);
    },
  };
}

describe('the capture button retried in the background', () => {
  test('down at start: one error line with the fix, backoff 2 s doubling to 60 s, a repeat line at most every 5 min; up again: logged, presses reach listeners given before', async () => {
    const r = rig();
    const presses: number[] = [];
    r.button.onPress((at) => presses.push(at));
    await r.button.start();
    assert.equal(r.attempts(), 1);
    const down = r.button.state();
    assert.equal(down.up, false);
    assert.equal(down.down_since, '2026-12-07T06:00:00.000Z');
    assert.match(down.error ?? '', /does not exist.*Fix: install libgpiod tools/);
    assert.equal(down.next_attempt_in_s, 2);
    assert.equal(await r.gauge(), '0');
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0]!.level, 50, 'error');
    assert.match(String(r.lines[0]!.msg), /capture button cannot be opened: the agent runs on without it/);
    assert.match(String(r.lines[0]!.err), /Fix: install libgpiod tools/);

    // Attempts at 2, 6, 14, 30, 62, 122 (capped at 60 s from there) … seconds.
    const at: number[] = [];
    for (let s = 1; s <= 600; s++) {
      const before = r.attempts();
      await r.advance(1000);
      if (r.attempts() > before) at.push(s);
    }
    assert.deepEqual(at.slice(0, 7), [2, 6, 14, 30, 62, 122, 182]);
    assert.equal(at.length, 13);
    // The first line, then one repeat once 5 min had passed (at the attempt at 302 s), none since.
    assert.deepEqual(
      r.lines.map((l) => l.msg),
      [
        'capture button cannot be opened: the agent runs on without it (uploads, heartbeat, `cti-agent capture`) and retries',
        'capture button still down: retrying',
      ],
    );
    assert.equal(r.lines[1]!.level, 40);

    r.appear();
    for (let s = 0; s < 60; s++) await r.advance(1000);
    const up = r.button.state();
    assert.deepEqual(
      { up: up.up, down_since: up.down_since, error: up.error, next: up.next_attempt_in_s },
      { up: true, down_since: null, error: null, next: null },
    );
    assert.equal(await r.gauge(), '1');
    assert.equal(r.lines.at(-1)!.msg, 'capture button up again: presses capture');
    assert.equal(r.lines.at(-1)!.level, 30);
    assert.equal(r.lines.at(-1)!.downForS, 602);

    r.press(0);
    await r.advance(50);
    assert.equal(presses.length, 1);
    assert.equal(r.button.isPressed(), true);
    assert.equal(r.button.stats().presses, 1);
    const attempts = r.attempts();
    await r.advance(600_000);
    assert.equal(r.attempts(), attempts, 'no attempt once it is up');
  });

  test('up, then its line fails: let go, down since then with the reason, re-opened on the same backoff (2 s, 4 s …); up again: presses still reach the listeners', async () => {
    const r = rig();
    const presses: number[] = [];
    r.button.onPress((at) => presses.push(at));
    const changes: boolean[] = [];
    r.button.onStateChange(() => changes.push(r.button.state().up));
    r.appear();
    await r.button.start();
    await r.advance(10_000);
    assert.equal(r.button.state().up, true);

    r.lose(
      new GpioUnavailableError(
        'gpiomon_exited',
        'gpiomon watching BCM 17 on gpiochip0 exited with code 1: "line busy" (restarted after an exit). Fix: free the line',
      ),
    );
    const down = r.button.state();
    assert.deepEqual(
      { up: down.up, since: down.down_since, attempts: down.failed_attempts, next: down.next_attempt_in_s },
      { up: false, since: '2026-12-07T06:00:10.000Z', attempts: 1, next: 2 },
    );
    assert.match(down.error ?? '', /exited with code 1: "line busy".*Fix: free the line/);
    assert.equal(r.closed(), 1, 'the failed button is let go');
    assert.equal(await r.gauge(), '0');
    assert.deepEqual(changes, [false]);
    assert.equal(r.lines.length, 1);
    assert.equal(r.lines[0]!.level, 50);
    assert.match(
      String(r.lines[0]!.msg),
      /^capture button stopped working: presses capture nothing until it is back/,
    );
    assert.match(String(r.lines[0]!.err), /line busy/);

    // Still gone at the retry 2 s later (the open fails now), then back before the one 4 s after that.
    await r.advance(2000);
    assert.equal(r.attempts(), 2);
    assert.equal(r.button.state().failed_attempts, 2);
    assert.match(r.button.state().error ?? '', /does not exist/, 'the latest reason');
    r.appear();
    await r.advance(4000);
    assert.equal(r.attempts(), 3);
    const up = r.button.state();
    assert.deepEqual(
      { up: up.up, error: up.error, since: up.down_since },
      { up: true, error: null, since: null },
    );
    assert.deepEqual(changes, [false, true]);
    assert.equal(await r.gauge(), '1');
    assert.equal(r.lines.at(-1)!.msg, 'capture button up again: presses capture');
    assert.equal(r.lines.at(-1)!.downForS, 6);

    r.press(0);
    await r.advance(50);
    assert.equal(presses.length, 1);
    r.lose(new Error('EIO'));
    assert.equal(r.button.stats().presses, 1, 'the presses of the lost button still count');
    r.button.close();
    assert.equal(r.timers.pending(), 0, 'nothing scheduled once closed');
  });

  test('jitter spreads the retries (±25%) and never past 60 s', async () => {
    const low = rig({ random: () => 0 });
    await low.button.start();
    assert.equal(low.button.state().next_attempt_in_s, 1.5);
    const high = rig({ random: () => 0.999999 });
    await high.button.start();
    assert.equal(high.button.state().next_attempt_in_s, 2.5);
    for (let i = 0; i < 10; i++) await high.advance(60_000);
    assert.equal(high.button.state().next_attempt_in_s, 60);
  });

  test('up at the first attempt: no log line of its own, nothing scheduled', async () => {
    const r = rig();
    r.appear();
    await r.button.start();
    assert.equal(r.button.state().up, true);
    assert.deepEqual(r.lines, []);
    assert.equal(r.timers.pending(), 0);
  });

  test('stopped while retrying: no attempt after, nothing left scheduled; a button that opens after the stop is closed at once', async () => {
    const r = rig();
    await r.button.start();
    r.button.close();
    assert.equal(r.timers.pending(), 0);
    await r.advance(600_000);
    assert.equal(r.attempts(), 1);

    let finish: (b: OpenedButton) => void = () => {};
    let closed = 0;
    const slow = createRetryingButton({
      open: () =>
        new Promise<OpenedButton>((resolve) => {
          finish = resolve;
        }),
    });
    const starting = slow.start();
    slow.stop();
    finish({
      ...createButton({ pressedLevel: 0, readLevel: () => 1 }),
      onFailure: () => () => {},
      close: () => (closed += 1),
    });
    await starting;
    assert.equal(closed, 1);
    assert.equal(slow.state().up, false);
  });
});
