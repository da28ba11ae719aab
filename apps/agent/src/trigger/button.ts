export type Level = 0 | 1;

/** Timer functions, injectable so the debounce logic is tested on a manual clock. */
export type Timers = {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export type ButtonOptions = {
  /** Line level while the button is held (0 for a button to ground with a pull-up). */
  pressedLevel: Level;
  /** Reads the line now: the stable-level re-check after the debounce delay. */
  readLevel(): Level;
  debounceMs?: number;
  /** Presses within this time after an accepted press are ignored (a capture is in progress). */
  lockoutMs?: number;
  longPressMs?: number;
  timers?: Timers;
};

export type ButtonStats = { presses: number; longPresses: number; lockedOut: number; bounces: number };

/**
 * Debounced push button fed with raw edges. After any edge it waits `debounceMs` and re-reads the
 * line: only a level that is still there counts (contact bounce and EMI spikes on a long barn cable do
 * not). A press fires at once, timed from its first edge, so the frame chosen is the one on screen
 * when the finger went down; holding past `longPressMs` fires the second action too.
 */
export function createButton(options: ButtonOptions) {
  const { pressedLevel, readLevel, debounceMs = 30, lockoutMs = 1500, longPressMs = 3000 } = options;
  const timers = options.timers ?? realTimers;
  const pressListeners = new Set<(pressAt: number) => void>();
  const longListeners = new Set<() => void>();
  const stats: ButtonStats = { presses: 0, longPresses: 0, lockedOut: 0, bounces: 0 };
  let stable: Level = pressedLevel === 1 ? 0 : 1;
  let firstEdgeAt: number | null = null;
  let check: unknown = null;
  let longTimer: unknown = null;
  let lastPressAt = Number.NEGATIVE_INFINITY;

  const settle = () => {
    check = null;
    const level = readLevel();
    const startedAt = firstEdgeAt ?? timers.now();
    firstEdgeAt = null;
    if (level === stable) {
      stats.bounces += 1;
      return;
    }
    stable = level;
    if (level === pressedLevel) pressed(startedAt);
    else if (longTimer !== null) {
      timers.clearTimeout(longTimer);
      longTimer = null;
    }
  };

  const pressed = (pressAt: number) => {
    if (pressAt - lastPressAt < lockoutMs) {
      stats.lockedOut += 1;
      return;
    }
    lastPressAt = pressAt;
    stats.presses += 1;
    for (const listener of pressListeners) listener(pressAt);
    longTimer = timers.setTimeout(() => {
      longTimer = null;
      if (readLevel() !== pressedLevel) return;
      stats.longPresses += 1;
      for (const listener of longListeners) listener();
    }, longPressMs);
  };

  return {
    /** Feed one raw edge (from onoff's watch, a poller, or a test). */
    edge(): void {
      firstEdgeAt ??= timers.now();
      if (check !== null) timers.clearTimeout(check);
      check = timers.setTimeout(settle, debounceMs);
    },
    onPress(listener: (pressAt: number) => void): () => void {
      pressListeners.add(listener);
      return () => pressListeners.delete(listener);
    },
    onLongPress(listener: () => void): () => void {
      longListeners.add(listener);
      return () => longListeners.delete(listener);
    },
    isPressed: () => stable === pressedLevel,
    stats: () => ({ ...stats }),
    stop(): void {
      if (check !== null) timers.clearTimeout(check);
      if (longTimer !== null) timers.clearTimeout(longTimer);
      check = longTimer = null;
    },
  };
}

export type Button = ReturnType<typeof createButton>;
