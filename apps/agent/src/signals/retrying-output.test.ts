import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, createMetricsRegistry } from '@cti/runtime';
import { createManualTimers } from '../test-support/manual-timers.ts';
import type { Level } from '../trigger/button.ts';
import { GpioUnavailableError } from '../trigger/gpio-lines.ts';
import { createRetryingOutput, type OpenedOutput } from './retrying-output.ts';
import { createStatusSignals, LED_PATTERNS } from './status-signals.ts';

// The LED/buzzer line under the real pattern player, on a manual clock. No GPIO output exists here:
// the line is a fake `open` whose writes fail while the test says the line is broken (onoff's
// writeSync throwing EIO), and whose opens fail while it is missing.

const EIO = Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
const NO_GPIO = new GpioUnavailableError(
  'no_sysfs_gpio',
  'GPIO sysfs interface /sys/class/gpio does not exist, and gpiodetect is not installed (or not on PATH). Fix: install libgpiod tools',
);

function rig({ openable = true } = {}) {
  const timers = createManualTimers(0);
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    name: 'test',
    level: 'info',
    destination: { write: (s: string) => lines.push(JSON.parse(s)) },
  });
  const metrics = createMetricsRegistry({ prefix: 'cti_agent_', defaults: false });
  /** What reached a working line: [ms, level]; an open line starts low. */
  const shown: Array<[number, Level]> = [];
  let broken = false;
  let present = openable;
  let opens = 0;
  let closes = 0;
  const open = async (): Promise<OpenedOutput> => {
    opens += 1;
    if (!present) throw NO_GPIO;
    let gone = false; // a line once failed stays failed (its fd is stale); only a re-open works
    return {
      write(level) {
        if (broken || gone) {
          gone = true;
          throw EIO;
        }
        shown.push([timers.now(), level]);
      },
      close() {
        closes += 1;
        if (gone) throw EIO;
      },
    };
  };
  const led = createRetryingOutput({
    name: 'LED',
    open,
    log,
    metrics,
    timers,
    random: () => 0.5,
    wallClock: () => Date.UTC(2026, 11, 7, 6, 0, 0) + timers.now(),
  });
  /** Moves the clock and lets a re-open's promise settle. */
  const advance = async (ms: number) => {
    timers.advance(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  const metric = async (name: string) =>
    new RegExp(`^${name}\\{output="led"\\} (\\d+)$`, 'm').exec(await metrics.metrics())?.[1];
  return {
    timers,
    led,
    lines,
    shown,
    advance,
    metric,
    opens: () => opens,
    closes: () => closes,
    breakLine: (b: boolean) => {
      broken = b;
    },
    appear: () => {
      present = true;
    },
  };
}

describe('the LED/buzzer line retried in the background', () => {
  test('a write that fails mid-pattern does not throw out of the player: the LED is down (since, why), one error line for the whole outage, the player goes on', async () => {
    const r = rig();
    await r.led.start();
    const s = createStatusSignals({ led: r.led, timers: r.timers });
    s.start();
    s.setBase('error'); // three flashes and a pause, looping: a write every 100 ms
    await r.advance(1000);
    assert.ok(r.shown.length >= 6);
    assert.equal(r.led.state().up, true);
    assert.equal(await r.metric('cti_agent_signal_output_up'), '1');

    r.breakLine(true);
    // Before: writeSync's throw left the timer callback, an uncaught exception that ended the agent.
    await r.advance(1000);
    for (let i = 0; i < 10; i++) await r.advance(1000); // 100 blinks later
    assert.equal(s.current(), 'error', 'the player still runs its pattern');
    const state = r.led.state();
    assert.equal(state.up, false);
    assert.equal(state.down_since, '2026-12-07T06:00:01.400Z');
    assert.equal(state.error, 'EIO: i/o error, write');
    assert.ok(state.failed_attempts >= 1);
    const errors = r.lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 1, JSON.stringify(r.lines));
    assert.equal(
      errors[0]!.msg,
      'the LED stopped working: the agent runs on without it (captures, uploads, heartbeat) and re-opens it',
    );
    assert.equal(errors[0]!.err, 'EIO: i/o error, write');
    assert.equal(await r.metric('cti_agent_signal_output_up'), '0');
    assert.equal(
      await r.metric('cti_agent_signal_output_failures_total'),
      '1',
      'one outage, not one per blink',
    );
    assert.ok(r.closes() >= 1, 'the failed line was let go (its close threw, and was not rethrown)');
  });

  test('the line comes back: re-opened with the backoff, the current pattern resumes from the player state, up again and logged', async () => {
    const r = rig();
    await r.led.start();
    const s = createStatusSignals({ led: r.led, timers: r.timers });
    s.start(); // ready: steady on
    await r.advance(500);
    assert.deepEqual(r.shown, [[0, 1]]);

    r.breakLine(true);
    s.setBase('offline_backlog'); // the first write of the new pattern (off) fails
    const opensWhenDown = r.opens();
    for (let i = 0; i < 30; i++) await r.advance(1000); // retries after ~2, 4, 8, 16 s: it stays broken
    assert.ok(r.opens() - opensWhenDown >= 3, `re-opened ${r.opens() - opensWhenDown} times`);
    assert.equal(r.led.state().up, false);
    assert.equal(r.lines.filter((l) => l.level === 50).length, 1);

    r.breakLine(false);
    s.show('captured'); // an event while it is down: the player keeps its state
    for (let i = 0; i < 60; i++) await r.advance(1000); // the next retry is at most 60 s away
    assert.equal(r.led.state().up, true, JSON.stringify(r.led.state()));
    assert.equal(r.led.state().error, null);
    assert.equal(r.led.state().down_since, null);
    assert.equal(s.current(), 'offline_backlog');
    assert.equal(await r.metric('cti_agent_signal_output_up'), '1');
    const back = r.lines.find((l) => l.msg === 'the LED works again');
    assert.ok(back, JSON.stringify(r.lines));
    assert.equal(back.level, 30);
    assert.equal(typeof back.downForS, 'number');

    // From the re-open on, the line shows offline_backlog's 150 ms on / 1850 ms off, in step.
    const from = r.shown.length;
    await r.advance(6000);
    const blink = r.shown.slice(from);
    const [on, off] = LED_PATTERNS.offline_backlog.steps;
    assert.ok(blink.length >= 4, JSON.stringify(blink));
    for (let i = 1; i < blink.length; i++) {
      const [at, level] = blink[i]!;
      const [prevAt] = blink[i - 1]!;
      assert.equal(at - prevAt, level === 0 ? on![1] : off![1], JSON.stringify(blink));
    }
  });

  test('a line that cannot be opened at start-up is down since the start with the reason, retried, and shows the current pattern once it opens', async () => {
    const r = rig({ openable: false });
    await r.led.start();
    const s = createStatusSignals({ led: r.led, timers: r.timers });
    s.start(); // ready: on — asked for while the line is missing
    let state = r.led.state();
    assert.equal(state.up, false);
    assert.equal(state.down_since, '2026-12-07T06:00:00.000Z');
    assert.match(state.error ?? '', /Fix: install libgpiod tools/);
    assert.equal(state.failed_attempts, 1);
    assert.equal(state.next_attempt_in_s, 2);
    assert.equal(r.lines.length, 1);
    assert.equal(
      r.lines[0]!.msg,
      'the LED cannot be driven: the agent runs on without it and retries (`cti-agent doctor` checks the line)',
    );
    assert.equal(await r.metric('cti_agent_signal_output_up'), '0');

    r.appear();
    await r.advance(2000);
    state = r.led.state();
    assert.equal(state.up, true);
    assert.deepEqual(r.shown, [[2000, 1]], 'ready (steady on) written as soon as the line opened');
  });

  test('close stops the retries and lets the line go; later writes do nothing', async () => {
    const r = rig({ openable: false });
    await r.led.start();
    assert.equal(r.timers.pending(), 1);
    r.led.close();
    assert.equal(r.timers.pending(), 0);
    r.led.write(1);
    await r.advance(120_000);
    assert.equal(r.opens(), 1);
  });
});
