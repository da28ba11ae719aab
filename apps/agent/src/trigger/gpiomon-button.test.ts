import assert from 'node:assert/strict';
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
import { describe, test } from 'node:test';
import { silentLogger } from '@cti/runtime';
import { waitFor } from '@cti/testkit';
import { resolveConfig } from '../config/agent-config.ts';
import { GpioUnavailableError } from './gpio-lines.ts';
import {
  gpiomonInvocation,
  openGpiomonButton,
  parseGpiodetect,
  parseGpiomonVersion,
} from './gpiomon-button.ts';
import { openCaptureButton } from './open-capture-button.ts';

// The one thing that cannot exist here is a GPIO character device, so libgpiod's tools are fakes:
// shell scripts passed as parameters. The fake gpiomon records its arguments and prints whatever the
// test appends to an events file (as gpiomon prints edges; read from the start, so nothing emitted
// before it runs is lost), exiting once first when asked to.
function fakeTools(version: string, { exitFirst = false } = {}) {
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
if [ "$1" = "--version" ]; then echo "gpiomon (libgpiod) ${version}"; echo "Copyright (C) 2017-2023"; exit 0; fi
echo "$@" >> "${dir}/args"
if [ ${exitFirst ? 1 : 0} = 1 ] && [ ! -e "${dir}/ran" ]; then touch "${dir}/ran"; echo "line busy" >&2; exit 1; fi
exec tail -n +1 -f "${events}"
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
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The button on BCM 17 (active low, 5 ms debounce, no lockout) through the fake tools, and its presses. */
async function openTestButton(tools: ReturnType<typeof fakeTools>) {
  const button = await openGpiomonButton({
    bcm: 17,
    pressedLevel: 0,
    debounceMs: 5,
    lockoutMs: 0,
    gpiomonPath: tools.gpiomon,
    gpiodetectPath: tools.gpiodetect,
    log: silentLogger(),
  });
  const presses: number[] = [];
  button.onPress((at) => presses.push(at));
  return { button, presses };
}

describe('libgpiod gpiomon fallback for the capture button', { timeout: 60_000 }, () => {
  test('parsers: gpiodetect lines, gpiomon versions, event codes per libgpiod generation', () => {
    assert.deepEqual(parseGpiodetect('gpiochip0 [pinctrl-rp1] (54 lines)\nnoise\n'), [
      { name: 'gpiochip0', label: 'pinctrl-rp1', lines: 54 },
    ]);
    assert.equal(parseGpiomonVersion('gpiomon (libgpiod) v1.6.3\n'), 1);
    assert.equal(parseGpiomonVersion('gpiomon (libgpiod) v2.1.3\n'), 2);
    assert.throws(() => parseGpiomonVersion('gpiomon 0.1'), /unrecognised gpiomon version/);
    const v1 = gpiomonInvocation(1, 'gpiochip0', 17);
    assert.deepEqual([v1.levelAfter('0 17'), v1.levelAfter('1 17'), v1.levelAfter('1 18')], [0, 1, null]);
    const v2 = gpiomonInvocation(2, 'gpiochip0', 17);
    assert.deepEqual([v2.levelAfter('2 17'), v2.levelAfter('1 17'), v2.levelAfter('0 17')], [0, 1, null]);
  });

  for (const [version, expectArgs, falling] of [
    ['v1.6.3', '--line-buffered --format=%e %o gpiochip0 17', '0 17'],
    ['v2.1.3', '--chip gpiochip0 --format=%e %o 17', '2 17'],
  ] as const) {
    test(`libgpiod ${version}: edges from gpiomon drive the debounced button on the header chip`, async () => {
      const tools = fakeTools(version);
      const { button, presses } = await openTestButton(tools);
      try {
        await waitFor(() => tools.args().length === 1, { what: 'gpiomon started' });
        assert.deepEqual(tools.args(), [expectArgs]);
        tools.emit(falling);
        await waitFor(() => presses.length === 1, { what: 'a press from a falling edge' });
        assert.equal(button.isPressed(), true);
        tools.emit('1 17');
        await waitFor(() => !button.isPressed(), { what: 'release from a rising edge' });
        assert.equal(button.mode(), 'gpiomon');
      } finally {
        button.close();
        tools.remove();
      }
    });
  }

  test('gpiomon exiting (line busy) is restarted and the button keeps working', async () => {
    const tools = fakeTools('v1.6.3', { exitFirst: true });
    const { button, presses } = await openTestButton(tools);
    try {
      await waitFor(() => tools.args().length === 2, { what: 'gpiomon restarted' });
      tools.emit('0 17');
      await waitFor(() => presses.length === 1, { what: 'a press after the restart' });
    } finally {
      button.close();
      tools.remove();
    }
  });

  test('no controller with the header label: the error lists the chips and names gpio_chip_label', async () => {
    const tools = fakeTools('v2.1.3');
    try {
      await assert.rejects(
        openGpiomonButton({
          bcm: 17,
          pressedLevel: 0,
          chipLabel: 'pinctrl-rp1',
          gpiomonPath: tools.gpiomon,
          gpiodetectPath: tools.gpiodetect,
        }),
        (err: unknown) =>
          err instanceof GpioUnavailableError &&
          err.code === 'no_chip' &&
          /found: gpiochip0 "pinctrl-bcm2711", gpiochip1 "raspberrypi-exp-gpio".*gpio_chip_label/.test(
            err.message,
          ),
      );
    } finally {
      tools.remove();
    }
  });

  test('no sysfs GPIO and no gpiomon: one error naming both and every fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-nogpio-'));
    const config = resolveConfig({
      device_code: 'dev-0001',
      data_dir: dir,
      source: { kind: 'simulated' },
      upload: { bucket: 'cti-test' },
      trigger: { kind: 'gpio', bcm: 17 },
      sysfs_root: join(dir, 'sys'),
    });
    try {
      assert.equal(config.trigger.kind, 'gpio');
      if (config.trigger.kind !== 'gpio') return;
      await assert.rejects(
        openCaptureButton(config.trigger, {
          sysfsRoot: config.sysfsRoot,
          log: silentLogger(),
          gpiomonPath: join(dir, 'no-gpiomon'),
          gpiodetectPath: join(dir, 'no-gpiodetect'),
        }),
        (err: unknown) =>
          err instanceof GpioUnavailableError &&
          err.code === 'no_sysfs_gpio' &&
          err.message.includes(
            `GPIO sysfs interface ${join(dir, 'sys', 'class', 'gpio')} does not exist, and`,
          ) &&
          err.message.includes('no-gpiodetect is not installed') &&
          /sudo apt install gpiod.*CONFIG_GPIO_SYSFS.*"trigger": \{ "kind": "none" \}/.test(err.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no sysfs GPIO but gpiomon present: openCaptureButton falls back to it', async () => {
    const tools = fakeTools('v1.6.3');
    const config = resolveConfig({
      device_code: 'dev-0001',
      data_dir: tools.dir,
      source: { kind: 'simulated' },
      upload: { bucket: 'cti-test' },
      trigger: { kind: 'gpio', bcm: 17, debounce_ms: 5 },
      sysfs_root: join(tools.dir, 'sys'),
    });
    if (config.trigger.kind !== 'gpio') throw new Error('gpio trigger expected');
    const button = await openCaptureButton(config.trigger, {
      sysfsRoot: config.sysfsRoot,
      log: silentLogger(),
      gpiomonPath: tools.gpiomon,
      gpiodetectPath: tools.gpiodetect,
    });
    try {
      assert.equal(button.mode(), 'gpiomon');
    } finally {
      button.close();
      tools.remove();
    }
  });
});
