import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLogger, silentLogger } from '@cti/runtime';
import { waitFor } from '@cti/testkit';
import { resolveConfig } from '../config/agent-config.ts';
import { type FakeGpiod, fakeGpiod } from '../test-support/fake-gpiod.ts';
import { GpioUnavailableError } from './gpio-lines.ts';
import {
  gpiomonInvocation,
  openGpiomonButton,
  parseGpiodetect,
  parseGpiomonVersion,
} from './gpiomon-button.ts';
import { openCaptureButton } from './open-capture-button.ts';
import { type CaptureButtonState, createRetryingButton } from './retrying-button.ts';

// The one thing that cannot exist here is a GPIO character device, so libgpiod's tools are fakes
// (test-support/fake-gpiod.ts): shell scripts passed as parameters.

/** The button on BCM 17 (active low, 5 ms debounce, no lockout) through the fake tools, and its presses. */
async function openTestButton(tools: FakeGpiod) {
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

/**
 * The gpiomon button as `cti-agent run` holds it: in the retrying button (fast real-time backoff), with
 * the log lines, the state at each change, and the presses that reach its listeners.
 */
function retryingGpiomon(tools: FakeGpiod, extra: { blipWindowMs?: number } = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    name: 'test',
    level: 'info',
    destination: { write: (s: string) => lines.push(JSON.parse(s)) },
  });
  const button = createRetryingButton({
    open: () =>
      openGpiomonButton({
        bcm: 17,
        pressedLevel: 0,
        debounceMs: 5,
        lockoutMs: 0,
        gpiomonPath: tools.gpiomon,
        gpiodetectPath: tools.gpiodetect,
        log,
        ...extra,
      }),
    log,
    initialDelayMs: 200,
    maxDelayMs: 400,
  });
  const presses: number[] = [];
  button.onPress((at) => presses.push(at));
  const changes: boolean[] = [];
  const r = {
    button,
    lines,
    presses,
    changes,
    downState: null as CaptureButtonState | null,
    logged: (msg: string) => lines.some((l) => String(l.msg).startsWith(msg)),
    /** A press (the falling edge given) and its release, through the running gpiomon. */
    press: async (falling: string) => {
      const before = presses.length;
      tools.emit(falling);
      await waitFor(() => presses.length > before, { what: 'a press through gpiomon' });
      tools.emit('1 17');
      await waitFor(() => !button.isPressed(), { what: 'the release' });
    },
  };
  button.onStateChange(() => {
    const state = button.state();
    changes.push(state.up);
    if (!state.up) r.downState = state;
  });
  return r;
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
      const tools = fakeGpiod(version);
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

  test('a gpiomon that exits at once (line busy) fails the open with its exit code, stderr and the fix', async () => {
    const tools = fakeGpiod('v1.6.3');
    tools.busy(true);
    try {
      await assert.rejects(openTestButton(tools), (err: unknown) => {
        assert.ok(err instanceof GpioUnavailableError);
        assert.equal(err.code, 'gpiomon_exited');
        assert.match(
          err.message,
          /^gpiomon watching BCM 17 on gpiochip0 exited with code 1: "gpiomon: error requesting GPIO lines: Device or resource busy" \(at start\)\. Fix: free the line if another program holds it \(`gpioinfo gpiochip0` names line 17's consumer\)/,
        );
        return true;
      });
    } finally {
      tools.remove();
    }
  });

  test('gpiomon exiting after it started: restarted at once and holding, a blip (still up, presses capture); exiting again within a minute, down with its exit code and stderr; re-opened on the backoff, up, presses capture', async () => {
    const tools = fakeGpiod('v2.1.3');
    const r = retryingGpiomon(tools);
    try {
      await r.button.start();
      assert.equal(r.button.state().up, true);
      await r.press('2 17');
      assert.equal(r.presses.length, 1);

      tools.kill();
      await waitFor(() => r.logged('gpiomon running again after a blip: presses capture'), {
        what: 'the restart holding',
      });
      assert.equal(tools.args().length, 2);
      assert.match(
        JSON.stringify(r.lines.find((l) => l.level === 40)),
        /"code":2.*"stderr":"gpiomon: error waiting for events: No such device".*"msg":"gpiomon exited: restarting it at once/,
      );
      assert.equal(r.button.state().up, true);
      assert.deepEqual(r.changes, [], 'a blip is no outage');
      await r.press('2 17');
      assert.equal(r.presses.length, 2);

      tools.kill();
      await waitFor(() => r.changes.length === 1, { what: 'the button down' });
      const down = r.downState!;
      assert.equal(down.up, false);
      assert.match(down.down_since ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.match(
        down.error ?? '',
        /^gpiomon watching BCM 17 on gpiochip0 exited with code 2: "gpiomon: error waiting for events: No such device" \(again, \d+ s after its last exit\)\. Fix: free the line/,
      );
      assert.ok(r.logged('capture button stopped working: presses capture nothing until it is back'));

      await waitFor(() => r.button.state().up, { what: 'gpiomon started again by a retry' });
      assert.deepEqual(r.changes, [false, true]);
      assert.equal(tools.args().length, 3);
      await r.press('2 17');
      assert.equal(r.presses.length, 3);
    } finally {
      r.button.close();
      tools.remove();
    }
  });

  test('a restart that does not hold (the line busy by then) is an outage at once; the retries fail while it stays busy, and it is up once it is free', async () => {
    const tools = fakeGpiod('v1.6.3');
    // No window: every exit gets a restart, so this is the restart that fails, not the second exit.
    const r = retryingGpiomon(tools, { blipWindowMs: 0 });
    try {
      await r.button.start();
      tools.busy(true);
      tools.kill();
      await waitFor(() => r.changes.length === 1, { what: 'the button down' });
      assert.match(
        r.downState!.error ?? '',
        /exited with code 1: "gpiomon: error requesting GPIO lines: Device or resource busy" \(restarted after an exit\)/,
      );
      await waitFor(() => r.button.state().failed_attempts >= 2, { what: 'a retry failing' });
      assert.match(r.button.state().error ?? '', /Device or resource busy" \(at start\)/);
      assert.equal(r.button.state().up, false);

      tools.busy(false);
      await waitFor(() => r.button.state().up, { what: 'up once the line is free' });
      assert.deepEqual(r.changes, [false, true]);
      await r.press('0 17');
      assert.equal(r.presses.length, 1);
    } finally {
      r.button.close();
      tools.remove();
    }
  });

  test('no controller with the header label: the error lists the chips and names gpio_chip_label', async () => {
    const tools = fakeGpiod('v2.1.3');
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
    const tools = fakeGpiod('v1.6.3');
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
