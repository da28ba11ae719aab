import { readFileSync } from 'node:fs';
import { type Logger, silentLogger } from '@cti/runtime';
import type { Gpio } from 'onoff';
import { type Button, createButton, type Level, type Timers } from './button.ts';
import { explainGpioLineError } from './gpio-lines.ts';

export type GpioButtonOptions = {
  /** sysfs GPIO number (already resolved from the chip base, see gpio-lines.ts). */
  line: number;
  pressedLevel: Level;
  debounceMs?: number;
  lockoutMs?: number;
  longPressMs?: number;
  /** 'interrupt' uses sysfs edge interrupts (epoll); 'poll' reads the value file every pollMs. */
  mode?: 'interrupt' | 'poll' | 'auto';
  pollMs?: number;
  /** How often the line is checked to be still there (its value file read by path). */
  checkMs?: number;
  log?: Logger;
  timers?: Timers;
};

export type GpioButton = Button & {
  mode(): 'interrupt' | 'poll';
  /**
   * Runs `listener` once when the line stops working (unexported, EIO, sysfs gone), with the error
   * that says why and the fix; the button is dead from then on and waits for `close`.
   */
  onFailure(listener: (err: Error) => void): () => void;
  close(): void;
};

/** Where onoff finds the lines (it does not take another root). */
const SYSFS_GPIO = '/sys/class/gpio';

/**
 * The capture button on a sysfs GPIO line via onoff. Edges come from onoff's epoll-based `watch`
 * (mode 'interrupt'); where interrupts are unavailable ('auto' falls back, or 'poll') the value file is
 * read every `pollMs` and level changes are fed to the same debouncer.
 *
 * A line that stops working is reported through `onFailure`, never thrown: a read of the held value
 * file that fails (EIO, ENODEV once the kernel unexported it), and a check every `checkMs` that its
 * value file is still there (unexported by another program, sysfs gone — with interrupts nothing else
 * would tell: the edges just stop, and every press would be lost in silence).
 */
export async function openGpioButton(options: GpioButtonOptions): Promise<GpioButton> {
  const { line, mode = 'auto', pollMs = 5, checkMs = 2000 } = options;
  const log = options.log ?? silentLogger();
  const { Gpio } = await import('onoff');
  let gpio: Gpio;
  try {
    gpio = new Gpio(line, 'in', 'both');
  } catch (err) {
    throw explainGpioLineError(err, line);
  }
  const failureListeners = new Set<(err: Error) => void>();
  let failure: Error | null = null;
  let last: Level = options.pressedLevel === 1 ? 0 : 1;
  let active: 'interrupt' | 'poll' = 'poll';
  let poller: NodeJS.Timeout | null = null;

  // onoff's epoll handler calls readSync before our watch callback, and a throw there would be
  // uncaught (the end of the agent): this instance's readSync reports the failure instead and returns
  // the last level, so a dead line reads as released.
  const readFd = gpio.readSync.bind(gpio);
  const read = (): Level => {
    if (failure) return last;
    try {
      last = readFd() as Level;
    } catch (err) {
      fail(err);
    }
    return last;
  };
  gpio.readSync = read;
  const button = createButton({ ...options, readLevel: read });

  const fail = (err: unknown) => {
    if (failure) return;
    const explained = explainGpioLineError(err, line);
    failure = explained instanceof Error ? explained : new Error(String(explained));
    stopTimers();
    for (const listener of failureListeners) listener(failure);
  };
  // By path, in a file of its own: a read of onoff's fd would clear an edge epoll has not reported yet.
  // It fails as the held fd would (EIO), and also when the line was unexported (ENOENT).
  const check = setInterval(() => {
    try {
      readFileSync(`${SYSFS_GPIO}/gpio${line}/value`);
    } catch (err) {
      fail(err);
    }
  }, checkMs);
  const stopTimers = () => {
    button.stop();
    clearInterval(check);
    if (poller) clearInterval(poller);
    poller = null;
  };

  const startPolling = () => {
    let was = read();
    poller = setInterval(() => {
      const level = read();
      if (level !== was && !failure) {
        was = level;
        button.edge();
      }
    }, pollMs);
    active = 'poll';
  };

  if (mode === 'poll') startPolling();
  else {
    try {
      gpio.watch((err) => {
        // epoll itself failed (its fd, not the line): the line is re-opened like any failed one.
        if (err) fail(err);
        else if (!failure) button.edge();
      });
      active = 'interrupt';
    } catch (err) {
      forgetFailedWatch(gpio);
      if (mode === 'interrupt') {
        clearInterval(check);
        throw err;
      }
      log.warn({ line, err: (err as Error).message }, 'GPIO edge interrupts unavailable; polling the button');
      startPolling();
    }
  }

  return {
    ...button,
    mode: () => active,
    onFailure(listener) {
      failureListeners.add(listener);
      if (failure) listener(failure);
      return () => failureListeners.delete(listener);
    },
    close() {
      stopTimers();
      if (active === 'interrupt') gpio.unwatchAll();
      gpio.unexport();
    },
  };
}

/**
 * onoff registers the listener before epoll refuses the fd, so a later unexport would try to remove
 * an fd epoll never held and throw. unwatchAll clears the listener list first, then its remove fails.
 */
function forgetFailedWatch(gpio: Gpio): void {
  try {
    gpio.unwatchAll();
  } catch {
    // Expected: the fd was never added to epoll.
  }
}

/** The part of onoff's `Gpio` an output drives (a parameter only so a test can make a write fail). */
export type GpioOutputLine = Pick<Gpio, 'writeSync' | 'unexport'>;

/**
 * An output line (LED, buzzer) via onoff, starting low. Errors at open and at a write name what happened
 * and the fix (explainGpioLineError); `makeLine` is onoff's `new Gpio(line, 'low')` but for tests.
 */
export async function openGpioOutput(
  line: number,
  makeLine: (line: number) => Promise<GpioOutputLine> = async (n) =>
    new (await import('onoff')).Gpio(n, 'low'),
): Promise<{ write(level: Level): void; close(): void }> {
  let gpio: GpioOutputLine;
  try {
    gpio = await makeLine(line);
  } catch (err) {
    throw explainGpioLineError(err, line);
  }
  return {
    // A failed write says what happened and the fix, as the capture button's reads do (the LED's or
    // buzzer's `status_signals` error, the journal, doctor): EIO, the line unexported, taken, no access.
    write: (level) => {
      try {
        gpio.writeSync(level);
      } catch (err) {
        throw explainGpioLineError(err, line);
      }
    },
    // A line whose write fails (EIO, unexported under it) is still let go: its fd closed, unexported.
    close: () => {
      try {
        gpio.writeSync(0);
      } finally {
        gpio.unexport();
      }
    },
  };
}
