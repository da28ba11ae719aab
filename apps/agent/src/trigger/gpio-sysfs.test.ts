import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  explainGpioAccessError,
  GpioUnavailableError,
  listGpioChips,
  resolveGpioLine,
} from './gpio-lines.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'test-fixtures', 'sysfs');

describe('GPIO line resolution from sysfs gpiochip label/base/ngpio', () => {
  test('Pi 4 on a 6.6 kernel: pinctrl-bcm2711 at base 512', () => {
    const r = resolveGpioLine(17, { sysfsRoot: join(fixtures, 'pi4-kernel-6.6') });
    assert.equal(r.line, 529);
    assert.equal(r.chip.label, 'pinctrl-bcm2711');
  });

  test('Pi 5 on a 6.6 kernel: pinctrl-rp1 at base 571, not the first chip at 512', () => {
    const root = join(fixtures, 'pi5-kernel-6.6');
    assert.equal(listGpioChips(root)[0]!.base, 512);
    assert.equal(resolveGpioLine(17, { sysfsRoot: root }).line, 588);
    assert.equal(resolveGpioLine(27, { sysfsRoot: root }).line, 598);
  });

  test('Pi 4 on an older 5.15 kernel: base 0', () => {
    assert.equal(resolveGpioLine(17, { sysfsRoot: join(fixtures, 'pi4-kernel-5.15') }).line, 17);
  });

  test('an explicit chip label picks that controller', () => {
    const r = resolveGpioLine(2, {
      sysfsRoot: join(fixtures, 'pi4-kernel-6.6'),
      chipLabel: 'raspberrypi-exp-gpio',
    });
    assert.equal(r.line, 572);
  });

  test('no sysfs GPIO: the error names the fix', () => {
    assert.throws(
      () => resolveGpioLine(17, { sysfsRoot: join(fixtures, 'does-not-exist') }),
      (err: unknown) =>
        err instanceof GpioUnavailableError &&
        err.code === 'no_sysfs_gpio' &&
        /Fix: .*"trigger": \{ "kind": "none" \}.*cti-agent capture/.test(err.message),
    );
  });

  test('EACCES from onoff becomes an error naming the gpio group fix; other errors pass through', () => {
    const eacces = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const explained = explainGpioAccessError(eacces, 529);
    assert.ok(explained instanceof GpioUnavailableError);
    assert.equal(explained.code, 'no_access');
    assert.match(explained.message, /GPIO 529 \(EACCES\)\. Fix: add the service user to the gpio group/);
    const other = new Error('boom');
    assert.equal(explainGpioAccessError(other, 1), other);
  });

  test('a line beyond the chip or an unknown label is refused with the chips found', () => {
    const root = join(fixtures, 'pi5-kernel-6.6');
    assert.throws(() => resolveGpioLine(54, { sysfsRoot: root }), /outside pinctrl-rp1 \(lines 0-53\)/);
    assert.throws(() => resolveGpioLine(1, { sysfsRoot: root, chipLabel: 'nope' }), /found: gpiochip512/);
  });
});

describe("onoff's real sysfs path in a private mount namespace", () => {
  test('button press via the value file and LED writes, with the Pi 5 line numbers', {
    timeout: 90_000,
  }, async () => {
    const child = join(here, '..', 'test-support', 'gpio-namespace-child.ts');
    const script = `mount -t tmpfs tmpfs /sys/class && exec "${process.execPath}" "${child}"`;
    const { stdout } = await promisify(execFile)('unshare', ['-m', 'sh', '-c', script], { timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(out, {
      buttonLine: 588,
      ledLine: 598,
      // epoll cannot watch a regular file: the button falls back to polling, which onoff's read supports.
      mode: 'poll',
      direction: 'in',
      edge: 'both',
      presses: 1,
      // 'low' is the sysfs way to say "output, starting low" without a glitch high.
      ledDirection: 'low',
      ledOn: '1',
      ledAfterClose: '0',
      ledUnexported: '598',
      buttonUnexported: '588',
    });
  });
});
