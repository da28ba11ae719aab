import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Logger, silentLogger } from '@cti/runtime';
import { type Button, createButton, type Level, realTimers, type Timers } from './button.ts';
import { GpioUnavailableError, selectHeaderChip } from './gpio-lines.ts';

export type GpiomonButtonOptions = {
  /** BCM number = line offset on the Pi header controller (gpiochip offsets are never rebased). */
  bcm: number;
  /** Controller label; default: the Pi header chip (see PI_HEADER_CHIP_LABELS). */
  chipLabel?: string;
  pressedLevel: Level;
  debounceMs?: number;
  lockoutMs?: number;
  longPressMs?: number;
  /** libgpiod's tools: `gpiomon` and `gpiodetect` on PATH unless given (tests pass fakes). */
  gpiomonPath?: string;
  gpiodetectPath?: string;
  /** A gpiomon still running after this long holds the line (it exits at once when it cannot). */
  stableMs?: number;
  /** A second exit within this time of the last one is an outage, not a blip. */
  blipWindowMs?: number;
  log?: Logger;
  /** The debouncer's clock, and the one that times `stableMs` and `blipWindowMs`. */
  timers?: Timers;
};

export type GpiomonButton = Button & {
  mode(): 'gpiomon';
  /** Runs `listener` once when gpiomon is down for good (see openGpiomonButton); then it waits for `close`. */
  onFailure(listener: (err: Error) => void): () => void;
  close(): void;
};

export const FIX_INSTALL_GPIOD =
  'Fix: install libgpiod tools (`sudo apt install gpiod`) for the gpiomon fallback, use a kernel with ' +
  'CONFIG_GPIO_SYSFS, or set "trigger": { "kind": "none" } and trigger captures with `cti-agent capture`.';

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        reject(new GpioUnavailableError('no_gpiomon', `${file} is not installed (or not on PATH)`));
      } else reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
    });
  });
}

/** `gpiodetect` lines look like `gpiochip0 [pinctrl-bcm2711] (58 lines)` in libgpiod 1.x and 2.x. */
export function parseGpiodetect(text: string): { name: string; label: string; lines: number }[] {
  return [...text.matchAll(/^(\S+) \[([^\]]*)\] \((\d+) lines\)$/gm)].map((m) => ({
    name: m[1]!,
    label: m[2]!,
    lines: Number(m[3]),
  }));
}

/** libgpiod's major version from `gpiomon --version` ("gpiomon (libgpiod) v1.6.3"). */
export function parseGpiomonVersion(text: string): 1 | 2 {
  const major = Number(/\bv(\d+)\./.exec(text)?.[1]);
  if (major === 1 || major === 2) return major;
  throw new Error(`unrecognised gpiomon version output: ${JSON.stringify(text.slice(0, 80))}`);
}

/**
 * Arguments and event decoding for each gpiomon generation: 1.x takes `<chip> <offset>` and prints
 * `%e` as 1 rising / 0 falling (and needs --line-buffered on a pipe); 2.x takes `--chip` and prints
 * 1 rising / 2 falling (it flushes after every batch of events).
 */
export function gpiomonInvocation(major: 1 | 2, chip: string, offset: number) {
  const args =
    major === 1
      ? ['--line-buffered', '--format=%e %o', chip, String(offset)]
      : ['--chip', chip, '--format=%e %o', String(offset)];
  const fallingCode = major === 1 ? '0' : '2';
  /** The line level after an event line, or null for anything else gpiomon prints. */
  const levelAfter = (line: string): Level | null => {
    const [event, at] = line.trim().split(' ');
    if (at !== String(offset)) return null;
    return event === '1' ? 1 : event === fallingCode ? 0 : null;
  };
  return { args, levelAfter };
}

async function findChip(gpiodetect: string, bcm: number, chipLabel?: string): Promise<string> {
  const chips = parseGpiodetect(await run(gpiodetect, []));
  return selectHeaderChip(chips, { chipLabel, bcm, lines: (c) => c.lines, where: `in ${gpiodetect}` }).name;
}

/** How a gpiomon run ended: its exit code or signal and the tail of what it printed on stderr. */
type GpiomonEnd = { code: number | null; signal: NodeJS.Signals | null; stderr: string; error?: Error };

/** One gpiomon process: `started` resolves once it has run `stableMs`, or rejects with how it ended. */
function spawnGpiomon(
  file: string,
  args: string[],
  { stableMs, timers, onLine }: { stableMs: number; timers: Timers; onLine: (line: string) => void },
) {
  const proc = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-500);
  });
  createInterface({ input: proc.stdout! }).on('line', onLine);
  // 'close' (not 'exit'): the stderr tail is complete by then. A spawn that fails emits 'error' only.
  const ended = new Promise<GpiomonEnd>((resolve) => {
    proc.once('close', (code, signal) => resolve({ code, signal, stderr: stderr.trim() }));
    proc.once('error', (error) => resolve({ code: null, signal: null, stderr: stderr.trim(), error }));
  });
  let stable: unknown = null;
  const started = new Promise<void>((resolve, reject) => {
    stable = timers.setTimeout(resolve, stableMs);
    void ended.then((end) => {
      timers.clearTimeout(stable);
      reject(end);
    });
  });
  started.catch(() => {}); // the caller may only look at `ended`
  return { proc, started, ended };
}

/** What the journal, `status` and `doctor` say about a gpiomon that ended, with the fix. */
function gpiomonExitError(end: GpiomonEnd, context: string, chip: string, bcm: number): GpioUnavailableError {
  const how = end.error
    ? `could not be started (${end.error.message})`
    : end.signal
      ? `was killed by ${end.signal}`
      : `exited with code ${end.code}`;
  const said = end.stderr
    ? `: ${JSON.stringify(
        end.stderr
          .split('\n')
          .filter((l) => l.trim() !== '')
          .slice(-3)
          .join(' | '),
      )}`
    : '';
  return new GpioUnavailableError(
    'gpiomon_exited',
    `gpiomon watching BCM ${bcm} on ${chip} ${how}${said} (${context}). Fix: free the line if another ` +
      `program holds it (\`gpioinfo ${chip}\` names line ${bcm}'s consumer), let the service user open ` +
      `/dev/${chip} (the gpio group), check the HAT; the agent starts gpiomon again by itself, no restart needed.`,
  );
}

/**
 * The capture button through libgpiod's `gpiomon` (a child process watching the GPIO character
 * device) for kernels without sysfs GPIO. Edges feed the same debouncer as the sysfs button; the
 * line level is tracked from the events (gpiomon holds the line, so it cannot be read separately),
 * starting released.
 *
 * gpiomon has no "line requested" output, so a run counts as started once it has lived `stableMs`
 * (it exits within milliseconds when the line is busy, the chip gone or access denied): opening
 * waits for that and throws how it ended otherwise. A gpiomon that exits later is restarted at once;
 * if that restart holds for `stableMs` it was a blip — logged at warn level, not an outage (presses
 * during that second are lost). If the restart fails too, or gpiomon exits again within
 * `blipWindowMs` of the last exit (something keeps taking the line), the button is down: `onFailure`
 * gets the exit code or signal and stderr tail with the fix, and the retrying button re-opens it on
 * its backoff (retrying-button.ts), so status, heartbeat, health and the LED say so meanwhile.
 */
export async function openGpiomonButton(options: GpiomonButtonOptions): Promise<GpiomonButton> {
  const { bcm, pressedLevel, gpiomonPath = 'gpiomon', gpiodetectPath = 'gpiodetect' } = options;
  const { stableMs = 1000, blipWindowMs = 60_000, timers = realTimers } = options;
  const log = options.log ?? silentLogger();
  const chip = await findChip(gpiodetectPath, bcm, options.chipLabel);
  const { args, levelAfter } = gpiomonInvocation(
    parseGpiomonVersion(await run(gpiomonPath, ['--version'])),
    chip,
    bcm,
  );
  let level: Level = pressedLevel === 1 ? 0 : 1;
  const button = createButton({ ...options, readLevel: () => level });
  const failureListeners = new Set<(err: Error) => void>();
  let failure: Error | null = null;
  let closed = false;
  let lastExitAt = Number.NEGATIVE_INFINITY;

  const start = () =>
    spawnGpiomon(gpiomonPath, args, {
      stableMs,
      timers,
      onLine: (line) => {
        const next = levelAfter(line);
        if (next === null || failure) return;
        level = next;
        button.edge();
      },
    });
  let current = start();

  const fail = (err: Error) => {
    failure = err;
    button.stop();
    for (const listener of failureListeners) listener(err);
  };

  /** A run that had started ended: restart it once as a blip, or report the button down. */
  const watch = (run: ReturnType<typeof start>) => {
    void run.ended.then(async (end) => {
      if (closed || failure) return;
      const now = timers.now();
      if (now - lastExitAt < blipWindowMs) {
        fail(
          gpiomonExitError(
            end,
            `again, ${Math.round((now - lastExitAt) / 1000)} s after its last exit`,
            chip,
            bcm,
          ),
        );
        return;
      }
      lastExitAt = now;
      log.warn(
        { code: end.code, signal: end.signal, stderr: end.stderr, chip, bcm },
        'gpiomon exited: restarting it at once (a restart that holds is a blip, not an outage)',
      );
      level = pressedLevel === 1 ? 0 : 1;
      current = start();
      try {
        await current.started;
      } catch (restartEnd) {
        if (!closed) fail(gpiomonExitError(restartEnd as GpiomonEnd, 'restarted after an exit', chip, bcm));
        return;
      }
      if (closed) return;
      log.info({ chip, bcm }, 'gpiomon running again after a blip: presses capture');
      watch(current);
    });
  };

  try {
    await current.started;
  } catch (end) {
    throw gpiomonExitError(end as GpiomonEnd, 'at start', chip, bcm);
  }
  watch(current);
  log.info({ chip, bcm, gpiomon: gpiomonPath }, 'capture button via gpiomon (no sysfs GPIO)');

  return {
    ...button,
    mode: () => 'gpiomon',
    onFailure(listener) {
      failureListeners.add(listener);
      if (failure) listener(failure);
      return () => failureListeners.delete(listener);
    },
    close() {
      closed = true;
      button.stop();
      current.proc.kill('SIGTERM');
    },
  };
}
