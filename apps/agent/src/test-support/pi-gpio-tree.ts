// Test support (not built): a fake Raspberry Pi 5 sysfs GPIO tree for a real spawned agent, which drives
// it through onoff's real sysfs code from its own mount namespace (onoff uses /sys/class/gpio itself).
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Why a private mount namespace cannot be made here (not root), or false: pass it as a test's `skip`. */
export const namespaceSkip: string | false = (() => {
  try {
    execFileSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs tmpfs /sys/class'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs `unshare -m` and mount (root): onoff uses /sys/class/gpio itself';
  }
})();

/** Pi 5 sysfs line numbers (pinctrl-rp1 at base 571) of the BCM lines the tests use. */
export const PI5_LINE = { button: 588, led: 598 } as const; // BCM 17, BCM 27

type ExportedLine = { direction: 'in' | 'out'; value: '0' | '1' };

/**
 * A Raspberry Pi 5's sysfs GPIO tree (gpiochip512 brcmstb, gpiochip571 pinctrl-rp1) at
 * `<classDir>/gpio`, with `exported` lines (sysfs number → direction and level) already exported —
 * the kernel would make them at export. `staged`: built beside it and renamed in whole, so an agent
 * retrying never sees half a tree. Returns each exported line's value file.
 *
 * @example const [value] = writePiGpioTree(dir, { [PI5_LINE.led]: { direction: 'out', value: '0' } });
 */
export function writePiGpioTree(
  classDir: string,
  exported: Record<number, ExportedLine>,
  { staged = false }: { staged?: boolean } = {},
): string[] {
  const root = join(classDir, staged ? 'gpio.new' : 'gpio');
  const write = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  for (const [base, label, ngpio] of [
    [512, 'gpio-brcmstb@107d508500', 32],
    [571, 'pinctrl-rp1', 54],
  ] as const) {
    write(`gpiochip${base}/label`, `${label}\n`);
    write(`gpiochip${base}/base`, `${base}\n`);
    write(`gpiochip${base}/ngpio`, `${ngpio}\n`);
  }
  for (const [line, { direction, value }] of Object.entries(exported)) {
    for (const [file, text] of Object.entries({ value, direction, edge: 'none', active_low: '0' }))
      write(`gpio${line}/${file}`, `${text}\n`);
  }
  write('export', '');
  write('unexport', '');
  if (staged) renameSync(root, join(classDir, 'gpio'));
  return Object.keys(exported).map((line) => join(classDir, 'gpio', `gpio${line}`, 'value'));
}

/**
 * Exports `line` in a tree made by writePiGpioTree, as the kernel would at `echo N > export`: its
 * directory appears whole (built beside it and renamed), so a reader never sees it half made. Returns
 * its value file. (Unexporting is removing that directory.)
 */
export function exportPiGpioLine(classDir: string, line: number, { direction, value }: ExportedLine): string {
  const staging = join(classDir, 'gpio', `.gpio${line}.new`);
  mkdirSync(staging, { recursive: true });
  for (const [file, text] of Object.entries({ value, direction, edge: 'none', active_low: '0' }))
    writeFileSync(join(staging, file), `${text}\n`);
  renameSync(staging, join(classDir, 'gpio', `gpio${line}`));
  return join(classDir, 'gpio', `gpio${line}`, 'value');
}

/**
 * A `wrap` for startAgentRun: the agent in its own mount namespace, after `setup` (shell commands that
 * e.g. mount a tmpfs or bind a directory over /sys/class). The process signalled is the agent itself.
 *
 * @example startAgentRun(config, cleanups, { wrap: inMountNamespace(`mount --bind ${dir} /sys/class`) });
 */
export function inMountNamespace(setup: string): (argv: string[]) => string[] {
  return (argv) => ['unshare', '-m', 'sh', '-c', `${setup} && exec "$@"`, 'sh', ...argv];
}
