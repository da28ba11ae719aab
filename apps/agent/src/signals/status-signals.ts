import { type Level, realTimers, type Timers } from '../trigger/button.ts';
import type { SignalOutputState } from './retrying-output.ts';

/** Steady states shown until something changes. */
export type BaseSignal = 'ready' | 'offline_backlog' | 'error';
/** Short events shown once, then the LED returns to the steady state. */
export type EventSignal = 'capturing' | 'captured' | 'refused' | 'tag_read';
export type SignalName = BaseSignal | EventSignal;

type Step = [Level, number];

/** `count` pulses of `ms` on and `ms` off, the last off stretched to `restMs`. */
function pulses(count: number, ms: number, restMs: number): Step[] {
  const steps: Step[] = [];
  for (let i = 1; i <= count; i++) steps.push([1, ms], [0, i === count ? restMs : ms]);
  return steps;
}

/** LED patterns (level, ms). Steady ones loop; event ones play once. Documented in docs/agent.md. */
export const LED_PATTERNS: Record<SignalName, { steps: Step[]; loop: boolean }> = {
  ready: { steps: [[1, 1000]], loop: true },
  offline_backlog: {
    steps: [
      [1, 150],
      [0, 1850],
    ],
    loop: true,
  },
  // Three flashes, then a pause.
  error: { steps: pulses(3, 100, 900), loop: true },
  // Until the capture resolves: fast 10 Hz flicker.
  capturing: {
    steps: [
      [1, 50],
      [0, 50],
    ],
    loop: true,
  },
  captured: {
    steps: [
      [0, 150],
      [1, 900],
      [0, 150],
    ],
    loop: false,
  },
  // Four flashes, once.
  refused: { steps: pulses(4, 100, 500), loop: false },
  // An ear tag was read (acknowledges the reader): dark for a moment, then two short blips, once.
  tag_read: { steps: [[0, 100], ...pulses(2, 60, 300)], loop: false },
};

export const BUZZER_PATTERNS: Partial<Record<SignalName, Step[]>> = {
  captured: [
    [1, 80],
    [0, 1],
  ],
  refused: [
    [1, 600],
    [0, 1],
  ],
  error: pulses(3, 100, 1),
  tag_read: pulses(2, 40, 1),
};

/**
 * A line the player drives. `write` runs in timer callbacks, where a throw would end the agent: a GPIO
 * line is given wrapped in createRetryingOutput (retrying-output.ts), whose write never throws and whose
 * `state` says whether the line is up.
 */
export type SignalOutput = { write(level: Level): void; state?(): SignalOutputState };

function createPlayer(output: SignalOutput, timers: Timers) {
  let handle: unknown = null;
  let level: Level = 0;
  const set = (l: Level) => {
    if (l !== level) output.write(l);
    level = l;
  };
  return {
    play(steps: Step[], loop: boolean, done?: () => void) {
      if (handle !== null) timers.clearTimeout(handle);
      handle = null;
      let i = 0;
      const next = () => {
        if (i >= steps.length) {
          if (!loop) return done?.();
          i = 0;
        }
        const [l, ms] = steps[i++]!;
        set(l);
        handle = timers.setTimeout(next, ms);
      };
      next();
    },
    off() {
      if (handle !== null) timers.clearTimeout(handle);
      handle = null;
      set(0);
    },
    level: () => level,
  };
}

/**
 * Status LED and optional buzzer. `setBase` picks the steady state (ready / offline backlog / error);
 * `show` plays an event (capturing, captured, refused) and falls back to the steady state after it.
 */
export function createStatusSignals({
  led,
  buzzer,
  timers = realTimers,
}: {
  led?: SignalOutput;
  buzzer?: SignalOutput;
  timers?: Timers;
}) {
  const ledPlayer = led ? createPlayer(led, timers) : null;
  const buzzerPlayer = buzzer ? createPlayer(buzzer, timers) : null;
  let base: BaseSignal = 'ready';
  let current: SignalName = 'ready';

  const showBase = () => {
    current = base;
    const p = LED_PATTERNS[base];
    ledPlayer?.play(p.steps, p.loop);
  };

  return {
    setBase(state: BaseSignal) {
      if (state === base) return;
      base = state;
      if (state === 'error') buzzerPlayer?.play(BUZZER_PATTERNS.error!, false);
      // An event in progress finishes first; it returns to the new base itself.
      if (current === 'ready' || current === 'offline_backlog' || current === 'error') showBase();
    },
    show(event: EventSignal) {
      current = event;
      const p = LED_PATTERNS[event];
      ledPlayer?.play(p.steps, p.loop, showBase);
      const beep = BUZZER_PATTERNS[event];
      if (beep) buzzerPlayer?.play(beep, false);
    },
    start: showBase,
    /** Each output's health (status and heartbeat `status_signals`); null: not configured or not reporting. */
    outputs: () => ({ led: led?.state?.() ?? null, buzzer: buzzer?.state?.() ?? null }),
    current: () => current,
    base: () => base,
    stop() {
      ledPlayer?.off();
      buzzerPlayer?.off();
    },
  };
}

export type StatusSignals = ReturnType<typeof createStatusSignals>;
