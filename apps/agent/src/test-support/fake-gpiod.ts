// Test support (not built): fake libgpiod tools for the gpiomon fallback of the capture button.
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * libgpiod's `gpiodetect` and `gpiomon` as shell scripts in a temporary directory (pass their paths,
 * or put the directory on PATH): a Pi 4's header chip, and a gpiomon that records its arguments and
 * prints whatever the test appends to an events file (as gpiomon prints edges; read from the start,
 * so nothing emitted before it runs is lost). Like the real one it fails at once while the line is
 * busy (`busy(true)`), and a running one exits with an error on `kill()` (the chip gone after a HAT
 * fault); that run empties the events file, so the next one does not replay old edges.
 */
export function fakeGpiod(version: string) {
  const dir = mkdtempSync(join(tmpdir(), 'cti-gpiomon-'));
  const events = join(dir, 'events');
  writeFileSync(events, '');
  const gpiodetect = join(dir, 'gpiodetect');
  writeFileSync(
    gpiodetect,
    '#!/bin/sh\necho "gpiochip0 [pinctrl-bcm2711] (58 lines)"\necho "gpiochip1 [raspberrypi-exp-gpio] (8 lines)"\n',
  );
  const gpiomon = join(dir, 'gpiomon');
  writeFileSync(
    gpiomon,
    `#!/bin/sh
# Its own PATH (sleep, tail): an agent under test may run with a PATH holding only the fakes.
PATH=/usr/local/bin:/usr/bin:/bin
if [ "$1" = "--version" ]; then echo "gpiomon (libgpiod) ${version}"; echo "Copyright (C) 2017-2023"; exit 0; fi
echo "$@" >> "${dir}/args"
if [ -e "${dir}/busy" ]; then echo "gpiomon: error requesting GPIO lines: Device or resource busy" >&2; exit 1; fi
tail -n +1 -f "${events}" &
tailpid=$!
trap 'kill $tailpid; exit 143' TERM
while [ ! -e "${dir}/die" ]; do sleep 0.05; done
rm -f "${dir}/die"
kill $tailpid
: > "${events}"
echo "gpiomon: error waiting for events: No such device" >&2
exit 2
`,
  );
  chmodSync(gpiodetect, 0o755);
  chmodSync(gpiomon, 0o755);
  return {
    dir,
    gpiomon,
    gpiodetect,
    emit: (line: string) => appendFileSync(events, `${line}\n`),
    // The script's `>>` creates the file before echo writes the line: an empty file is no call yet.
    args: () =>
      existsSync(join(dir, 'args'))
        ? readFileSync(join(dir, 'args'), 'utf8')
            .split('\n')
            .filter((line) => line.trim() !== '')
        : [],
    busy: (on: boolean) => (on ? writeFileSync(join(dir, 'busy'), '') : rmSync(join(dir, 'busy'))),
    /** The running gpiomon exits with code 2 and "No such device" on stderr. */
    kill: () => writeFileSync(join(dir, 'die'), ''),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type FakeGpiod = ReturnType<typeof fakeGpiod>;
