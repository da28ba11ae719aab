import { silentLogger } from '@cti/runtime';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Level } from '../trigger/button.ts';
import { createLineOutage, type LineRetryOptions, type LineState } from '../trigger/line-outage.ts';

/** An opened output line (LED, buzzer): `write` throws when the line fails (EIO, unexported, gone). */
export type OpenedOutput = { write(level: Level): void; close(): void };

/** What `status` and the heartbeat say about the LED or the buzzer: the capture button's shape. */
export type SignalOutputState = LineState;

/** Backoff and logging as the capture button's (LineRetryOptions). */
export type RetryingOutputOptions = LineRetryOptions & {
  /** 'LED' or 'buzzer': named in the log lines and the metric label (lower case). */
  name: 'LED' | 'buzzer';
  /** Opens the line, starting low; throws when it cannot (the error names the fix). */
  open(): Promise<OpenedOutput>;
  metrics?: Registry;
};

/** One gauge and one counter per registry, labelled by output (the LED and the buzzer share them). */
function outputMetrics(registry: Registry) {
  const up =
    (registry.getSingleMetric('cti_agent_signal_output_up') as Gauge<'output'> | undefined) ??
    new Gauge({
      name: 'cti_agent_signal_output_up',
      help: '1 while the status LED/buzzer line is driven, 0 while it is down (failed or never opened) and retried',
      labelNames: ['output'],
      registers: [registry],
    });
  const failures =
    (registry.getSingleMetric('cti_agent_signal_output_failures_total') as Counter<'output'> | undefined) ??
    new Counter({
      name: 'cti_agent_signal_output_failures_total',
      help: 'Times the status LED/buzzer line went down: a write that failed, or an open that failed at start-up',
      labelNames: ['output'],
      registers: [registry],
    });
  return { up, failures };
}

/**
 * The LED or the buzzer of `cti-agent run`, kept apart from the line under it. `write` never throws:
 * a write that fails (EIO, the line unexported or taken, sysfs gone, a loose HAT) marks the output
 * down, logs it once, lets the line go and re-opens it in the background with the capture button's
 * capped backoff. The level last asked for is kept and written when the line is back, so the pattern
 * player goes on as if nothing happened. A line that cannot be opened at start-up is down the same way.
 *
 * @example const led = createRetryingOutput({ name: 'LED', open: () => openGpioOutput(line), log });
 * await led.start(); // never throws; led.state().up says whether it is driven
 */
export function createRetryingOutput({
  name,
  open,
  metrics,
  log = silentLogger(),
  ...retry
}: RetryingOutputOptions) {
  const label = { output: name.toLowerCase() };
  const gauges = metrics ? outputMetrics(metrics) : null;
  let inner: OpenedOutput | null = null;
  let wanted: Level = 0;
  let stopped = false;
  const outage = createLineOutage(() => void attempt(), { ...retry, log });

  /** The line failed (`how`: at open or at a write): down since now, one error line per outage. */
  const wentDown = (err: unknown, how: 'open' | 'write') => {
    const started = outage.failed(err, {
      first:
        how === 'write'
          ? `the ${name} stopped working: the agent runs on without it (captures, uploads, heartbeat) and re-opens it`
          : `the ${name} cannot be driven: the agent runs on without it and retries (\`cti-agent doctor\` checks the line)`,
      repeat: `the ${name} is still down: retrying`,
    });
    if (started) {
      gauges?.up.set(label, 0);
      gauges?.failures.inc(label);
    }
  };

  /** Lets a failed line go without throwing: its fd is closed and it is unexported where that works. */
  const release = (output: OpenedOutput) => {
    try {
      output.close();
    } catch {
      // Expected: the line that just failed a write usually fails the last write of close too.
    }
  };

  const drive = (output: OpenedOutput, level: Level): boolean => {
    try {
      output.write(level);
      return true;
    } catch (err) {
      inner = null;
      release(output);
      if (!stopped) wentDown(err, 'write');
      return false;
    }
  };

  const attempt = async (): Promise<void> => {
    outage.attempting();
    if (stopped) return;
    let output: OpenedOutput;
    try {
      output = await open();
    } catch (err) {
      if (!stopped) wentDown(err, 'open');
      return;
    }
    if (stopped) return release(output);
    inner = output;
    // Show what the player asked for meanwhile. After an outage it is written even when low (the line
    // opens low): a line that opens but cannot be written stays down, rather than flapping up and down.
    if ((outage.isDown() || wanted === 1) && !drive(output, wanted)) return;
    gauges?.up.set(label, 1);
    outage.recovered(`the ${name} works again`);
  };

  return {
    /** The first open; on failure the retries go on in the background. Never throws. */
    start: attempt,
    /** Never throws: a failed line is down and retried, and `level` is shown when it is back. */
    write(level: Level): void {
      wanted = level;
      if (inner) drive(inner, level);
    },
    state: (): SignalOutputState => outage.state(inner !== null),
    /** Runs `listener` when the output goes down or comes back; returns the unsubscribe. */
    onStateChange: outage.onChange,
    /** No more retries; the line is left low and let go (the agent stopping). */
    close(): void {
      stopped = true;
      outage.halt();
      if (inner) release(inner);
      inner = null;
    },
  };
}

export type RetryingOutput = ReturnType<typeof createRetryingOutput>;
