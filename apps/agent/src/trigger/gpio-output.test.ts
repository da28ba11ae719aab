import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openGpioOutput } from './gpio-button.ts';
import { GpioUnavailableError } from './gpio-lines.ts';

// The kernel's faults on a sysfs output line (a HAT's EIO, the line unexported or taken under the agent)
// cannot be made on this machine: onoff's line is replaced by one whose calls fail with that errno. The
// LED/buzzer's down reason (status_signals, the journal, doctor) then says what happened and the fix.

const errno = (code: string, message: string) => Object.assign(new Error(`${code}: ${message}`), { code });

test('a write that fails with EIO, ENOENT or EBUSY names the fault and the fix; another errno passes through as it was', async () => {
  const cases: [string, string | null, RegExp][] = [
    [
      'EIO',
      'line_io_error',
      /sysfs GPIO 598 fails with an I\/O error \(EIO: i\/o error, write\).*Fix: check the HAT/,
    ],
    ['ENOENT', 'line_gone', /sysfs GPIO 598 is not there .*unexported.*Fix: stop whatever unexports it/],
    ['EBUSY', 'line_busy', /held by another driver or program.*Fix: free the line/],
    [
      'EACCES',
      'no_access',
      /no permission to use sysfs GPIO 598 \(EACCES\)\. Fix: add the service user to the gpio group/,
    ],
    ['ENOSPC', null, /^ENOSPC: i\/o error, write$/],
  ];
  for (const [code, expected, message] of cases) {
    let fail = false;
    const written: number[] = [];
    const out = await openGpioOutput(598, async () => ({
      writeSync: (level) => {
        if (fail) throw errno(code, 'i/o error, write');
        written.push(level);
      },
      unexport: () => {},
    }));
    out.write(1);
    fail = true;
    const err = (() => {
      try {
        out.write(0);
      } catch (e) {
        return e as Error;
      }
      assert.fail(`${code}: the write did not throw`);
    })();
    assert.match(err.message, message, code);
    if (expected) assert.equal((err as GpioUnavailableError).code, expected, code);
    else assert.ok(!(err instanceof GpioUnavailableError), code);
    assert.deepEqual(written, [1], code);
  }
});

test('a line that cannot be opened (not exported, no access) says so with the fix', async () => {
  await assert.rejects(
    openGpioOutput(598, async () => {
      throw errno('ENOENT', "no such file or directory, open '/sys/class/gpio/gpio598/value'");
    }),
    (err: GpioUnavailableError) =>
      err.code === 'line_gone' && /Fix: stop whatever unexports it/.test(err.message),
  );
  await assert.rejects(
    openGpioOutput(598, async () => {
      throw errno('EACCES', "permission denied, open '/sys/class/gpio/export'");
    }),
    (err: GpioUnavailableError) => err.code === 'no_access',
  );
});
