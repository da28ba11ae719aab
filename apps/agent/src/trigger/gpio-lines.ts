import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type GpioChip = { name: string; label: string; base: number; ngpio: number };

/** Labels of the SoC's main GPIO controller on Raspberry Pi models (BCM numbers are offsets on it). */
export const PI_HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export class GpioUnavailableError extends Error {
  override name = 'GpioUnavailableError';
  readonly code:
    | 'no_sysfs_gpio'
    | 'no_gpiomon'
    | 'no_chip'
    | 'line_out_of_range'
    | 'no_access'
    /** The sysfs line is not there (unexported under the agent, sysfs gone): ENOENT, ENODEV. */
    | 'line_gone'
    /** Another driver or program holds the line (EBUSY at export). */
    | 'line_busy'
    /** The GPIO controller fails reads (EIO: a HAT or expander fault). */
    | 'line_io_error'
    /** gpiomon (the fallback) exited and did not stay up. */
    | 'gpiomon_exited';
  constructor(code: GpioUnavailableError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

const FIX_NO_SYSFS =
  'Fix: use a kernel with CONFIG_GPIO_SYSFS (Raspberry Pi OS has it), install libgpiod tools ' +
  '(`sudo apt install gpiod`: the capture button then falls back to gpiomon), or set "trigger": ' +
  '{ "kind": "none" } in the agent config and trigger captures with `cti-agent capture`; for the LED ' +
  'and buzzer set "led"/"buzzer" to null.';

/** The gpiochips under `<sysfsRoot>/class/gpio` with their label, base and line count. */
export function listGpioChips(sysfsRoot = '/sys'): GpioChip[] {
  const dir = join(sysfsRoot, 'class', 'gpio');
  if (!existsSync(dir)) {
    throw new GpioUnavailableError(
      'no_sysfs_gpio',
      `GPIO sysfs interface ${dir} does not exist. ${FIX_NO_SYSFS}`,
    );
  }
  const read = (chip: string, file: string) => readFileSync(join(dir, chip, file), 'utf8').trim();
  return readdirSync(dir)
    .filter((name) => /^gpiochip\d+$/.test(name))
    .map((name) => ({
      name,
      label: read(name, 'label'),
      base: Number(read(name, 'base')),
      ngpio: Number(read(name, 'ngpio')),
    }))
    .sort((a, b) => a.base - b.base);
}

/**
 * The sysfs GPIO number for a BCM line: the Pi header chip's base + the BCM number. Raspberry Pi
 * kernels ≥ 6.6 moved the bases (512 on a Pi 4, 571 on a Pi 5), older ones used 0: never hard-code.
 * `chipLabel` picks another controller by its label.
 */
export function resolveGpioLine(
  bcm: number,
  { sysfsRoot = '/sys', chipLabel }: { sysfsRoot?: string; chipLabel?: string } = {},
): {
  line: number;
  chip: GpioChip;
} {
  const chips = listGpioChips(sysfsRoot);
  const chip = selectHeaderChip(chips, {
    chipLabel,
    bcm,
    lines: (c) => c.ngpio,
    where: `under ${join(sysfsRoot, 'class/gpio')}`,
  });
  return { line: chip.base + bcm, chip };
}

/**
 * The GPIO controller the button is wired to — `chipLabel`, else the first Pi header controller
 * found — checked to have line `bcm`. Shared by the sysfs path and the gpiomon fallback, which list
 * chips differently (`where` says how, for the error).
 */
export function selectHeaderChip<C extends { name: string; label: string }>(
  chips: C[],
  {
    chipLabel,
    bcm,
    lines,
    where,
  }: { chipLabel?: string; bcm: number; lines: (chip: C) => number; where: string },
): C {
  const wanted: readonly string[] = chipLabel ? [chipLabel] : PI_HEADER_CHIP_LABELS;
  const chip = wanted.map((label) => chips.find((c) => c.label === label)).find((c) => c !== undefined);
  if (!chip) {
    const seen = chips.map((c) => `${c.name} "${c.label}"`).join(', ') || 'none';
    throw new GpioUnavailableError(
      'no_chip',
      `no GPIO controller labelled ${wanted.join(' or ')} ${where} (found: ${seen}). ` +
        'Fix: set "gpio_chip_label" in the agent config to the label of the controller your button is wired to.',
    );
  }
  if (!Number.isInteger(bcm) || bcm < 0 || bcm >= lines(chip)) {
    throw new GpioUnavailableError(
      'line_out_of_range',
      `GPIO ${bcm} is outside ${chip.label} (lines 0-${lines(chip) - 1}). Fix: use the BCM number of the header pin.`,
    );
  }
  return chip;
}

/** onoff's raw EACCES/EPERM on the sysfs files, turned into an error that names the fix. */
export function explainGpioAccessError(err: unknown, line: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM') return err;
  return new GpioUnavailableError(
    'no_access',
    `no permission to use sysfs GPIO ${line} (${code}). Fix: add the service user to the gpio group ` +
      '(sudo usermod -aG gpio cti; the unit sets SupplementaryGroups=gpio) and check the udev rule that ' +
      'gives /sys/class/gpio to that group.',
  );
}

/**
 * A sysfs line that fails at open or later (a read of its value file): onoff's raw errno turned into an
 * error that says what happened and the fix, for the journal, `status` and `doctor`. The raw message
 * stays in it (the path, the errno). Errors with other codes pass through.
 */
export function explainGpioLineError(err: unknown, line: number): unknown {
  const access = explainGpioAccessError(err, line);
  if (access !== err) return access;
  const code = (err as NodeJS.ErrnoException).code;
  const raw = (err as Error).message;
  const again = 'the agent re-opens the line by itself (about every 2-60 s), no restart needed.';
  if (code === 'ENOENT' || code === 'ENODEV') {
    return new GpioUnavailableError(
      'line_gone',
      `sysfs GPIO ${line} is not there (${raw}): it was unexported (by another program, or a script ` +
        `writing /sys/class/gpio/unexport) or sysfs GPIO went away. Fix: stop whatever unexports it; ${again}`,
    );
  }
  if (code === 'EBUSY') {
    return new GpioUnavailableError(
      'line_busy',
      `sysfs GPIO ${line} is held by another driver or program (${raw}). Fix: free the line (a ` +
        `device-tree overlay or another GPIO program using it; \`gpioinfo\` names the consumer); ${again}`,
    );
  }
  if (code === 'EIO') {
    return new GpioUnavailableError(
      'line_io_error',
      `sysfs GPIO ${line} fails with an I/O error (${raw}): the GPIO controller reports a fault (a HAT or ` +
        `GPIO expander, a loose connector). Fix: check the HAT and its connector; ${again}`,
    );
  }
  return err;
}
