import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDeviceKey } from '@cti/contracts';

// Set-up shared by the tests that run a real agent process with GPIO lines and heartbeats
// (cli-button-down, cli-button-lost, cli-signal-output-down).

/**
 * A fresh temporary directory, removed by `cleanups` (which the test file runs in reverse at its end).
 *
 * @example const dir = scratchDir(cleanups, 'cti-button-down-');
 */
export function scratchDir(cleanups: Array<() => unknown>, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A PATH holding systemd-notify only (the agent's sd_notify): no gpiomon/gpiodetect, whatever this
 * machine has installed, so the agent cannot fall back to libgpiod.
 */
export function pathWithoutGpiod(cleanups: Array<() => unknown>): string {
  const dir = scratchDir(cleanups, 'cti-no-gpiod-path-');
  const notify = execFileSync('sh', ['-c', 'command -v systemd-notify'], { encoding: 'utf8' }).trim();
  symlinkSync(notify, join(dir, 'systemd-notify'));
  return dir;
}

/** A new device key's secret in `dir/device-secret` (mode 0600), as the heartbeat's `secret_file`. */
export function writeDeviceSecret(dir: string, deviceCode = 'dev-test'): string {
  const file = join(dir, 'device-secret');
  writeFileSync(file, createDeviceKey(deviceCode).secret);
  chmodSync(file, 0o600);
  return file;
}
