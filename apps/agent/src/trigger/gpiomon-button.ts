import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Logger, silentLogger } from '@cti/runtime';
import { type Button, createButton, type Level, type Timers } from './button.ts';
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
  log?: Logger;
  timers?: Timers;
};

export type GpiomonButton = Button & { mode(): 'gpiomon'; close(): void };

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

/**
 * The capture button through libgpiod's `gpiomon` (a child process watching the GPIO character
 * device) for kernels without sysfs GPIO. Edges feed the same debouncer as the sysfs button; the
 * line level is tracked from the events (gpiomon holds the line, so it cannot be read separately),
 * starting released. gpiomon exiting (line taken, permission, device gone) is logged and it is
 * restarted with a capped delay until `close()`.
 */
export async function openGpiomonButton(options: GpiomonButtonOptions): Promise<GpiomonButton> {
  const { bcm, pressedLevel, gpiomonPath = 'gpiomon', gpiodetectPath = 'gpiodetect' } = options;
  const log = options.log ?? silentLogger();
  const chip = await findChip(gpiodetectPath, bcm, options.chipLabel);
  const { args, levelAfter } = gpiomonInvocation(
    parseGpiomonVersion(await run(gpiomonPath, ['--version'])),
    chip,
    bcm,
  );
  let level: Level = pressedLevel === 1 ? 0 : 1;
  const button = createButton({ ...options, readLevel: () => level });
  let child: ChildProcess | null = null;
  let closed = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | null = null;

  const start = () => {
    const started = Date.now();
    const proc = spawn(gpiomonPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const next = levelAfter(line);
      if (next === null) return;
      level = next;
      button.edge();
    });
    proc.once('error', (err) => log.error({ err: err.message, chip, bcm }, 'gpiomon failed to start'));
    proc.once('exit', (code, signal) => {
      child = null;
      if (closed) return;
      if (Date.now() - started > 60_000) restarts = 0;
      const delay = Math.min(30_000, 500 * 2 ** restarts++);
      log.error(
        { code, signal, stderr: stderr.trim(), chip, bcm, retryMs: delay },
        'gpiomon exited; restarting',
      );
      restartTimer = setTimeout(start, delay);
    });
  };
  start();
  log.info({ chip, bcm, gpiomon: gpiomonPath }, 'capture button via gpiomon (no sysfs GPIO)');

  return {
    ...button,
    mode: () => 'gpiomon',
    close() {
      closed = true;
      button.stop();
      if (restartTimer) clearTimeout(restartTimer);
      child?.kill('SIGTERM');
    },
  };
}
