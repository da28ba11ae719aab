import { type Logger, silentLogger } from '@cti/runtime';
import type { Gpio } from 'onoff';
import { type Button, createButton, type Level, type Timers } from './button.ts';
import { explainGpioAccessError } from './gpio-lines.ts';

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
  log?: Logger;
  timers?: Timers;
};

export type GpioButton = Button & { mode(): 'interrupt' | 'poll'; close(): void };

/**
 * The capture button on a sysfs GPIO line via onoff. Edges come from onoff's epoll-based `watch`
 * (mode 'interrupt'); where interrupts are unavailable ('auto' falls back, or 'poll') the value file is
 * read every `pollMs` and level changes are fed to the same debouncer.
 */
export async function openGpioButton(options: GpioButtonOptions): Promise<GpioButton> {
  const { line, mode = 'auto', pollMs = 5 } = options;
  const log = options.log ?? silentLogger();
  const { Gpio } = await import('onoff');
  let gpio: Gpio;
  try {
    gpio = new Gpio(line, 'in', 'both');
  } catch (err) {
    throw explainGpioAccessError(err, line);
  }
  const read = () => gpio.readSync() as Level;
  const button = createButton({ ...options, readLevel: read });
  let active: 'interrupt' | 'poll' = 'poll';
  let poller: NodeJS.Timeout | null = null;

  const startPolling = () => {
    let last = read();
    poller = setInterval(() => {
      const level = read();
      if (level !== last) {
        last = level;
        button.edge();
      }
    }, pollMs);
    active = 'poll';
  };

  if (mode === 'poll') startPolling();
  else {
    try {
      gpio.watch((err) => {
        if (err) log.error({ err: err.message, line }, 'button interrupt error');
        else button.edge();
      });
      active = 'interrupt';
    } catch (err) {
      forgetFailedWatch(gpio);
      if (mode === 'interrupt') throw err;
      log.warn({ line, err: (err as Error).message }, 'GPIO edge interrupts unavailable; polling the button');
      startPolling();
    }
  }

  return {
    ...button,
    mode: () => active,
    close() {
      button.stop();
      if (poller) clearInterval(poller);
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

/** An output line (LED, buzzer) via onoff, starting low. */
export async function openGpioOutput(line: number): Promise<{ write(level: Level): void; close(): void }> {
  const { Gpio } = await import('onoff');
  let gpio: Gpio;
  try {
    gpio = new Gpio(line, 'low');
  } catch (err) {
    throw explainGpioAccessError(err, line);
  }
  return {
    write: (level) => gpio.writeSync(level),
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
