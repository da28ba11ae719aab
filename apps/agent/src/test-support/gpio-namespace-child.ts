// Runs inside `unshare -m` with a tmpfs over /sys/class (see gpio-sysfs.test.ts): builds a fake
// Raspberry Pi 5 sysfs GPIO tree, then drives onoff's real sysfs code through the agent's button and
// LED modules and prints what happened as one JSON line.
import { readFileSync, writeFileSync } from 'node:fs';
import { waitFor } from '@cti/testkit';
import { openGpioButton, openGpioOutput } from '../trigger/gpio-button.ts';
import { resolveGpioLine } from '../trigger/gpio-lines.ts';
import { PI5_LINE, writePiGpioTree } from './pi-gpio-tree.ts';

const root = '/sys/class/gpio';
// The kernel would create gpioN on export; here the exported line directories exist up front.
writePiGpioTree('/sys/class', {
  [PI5_LINE.button]: { direction: 'in', value: '1' },
  [PI5_LINE.led]: { direction: 'in', value: '0' },
});
const button = resolveGpioLine(17).line;
const led = resolveGpioLine(27).line;

const out: Record<string, unknown> = { buttonLine: button, ledLine: led };
const b = await openGpioButton({
  line: button,
  pressedLevel: 0,
  debounceMs: 20,
  lockoutMs: 0,
  mode: 'auto',
  pollMs: 5,
});
out.mode = b.mode();
out.direction = readFileSync(`${root}/gpio${button}/direction`, 'utf8').trim();
out.edge = readFileSync(`${root}/gpio${button}/edge`, 'utf8').trim();
let presses = 0;
b.onPress(() => {
  presses += 1;
});
writeFileSync(`${root}/gpio${button}/value`, '0');
await waitFor(() => presses === 1, { what: 'press through sysfs', timeoutMs: 10_000 });
writeFileSync(`${root}/gpio${button}/value`, '1');
await waitFor(() => !b.isPressed(), { what: 'release through sysfs', timeoutMs: 10_000 });
out.presses = presses;

const l = await openGpioOutput(led);
out.ledDirection = readFileSync(`${root}/gpio${led}/direction`, 'utf8').trim();
l.write(1);
out.ledOn = readFileSync(`${root}/gpio${led}/value`, 'utf8').trim();
l.close();
out.ledAfterClose = readFileSync(`${root}/gpio${led}/value`, 'utf8').trim();
out.ledUnexported = readFileSync(`${root}/unexport`, 'utf8').trim();
b.close();
out.buttonUnexported = readFileSync(`${root}/unexport`, 'utf8').trim();
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
