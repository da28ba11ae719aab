import type { Logger } from '@cti/runtime';
import type { TriggerConfig } from '../config/agent-config.ts';
import { openGpioButton } from './gpio-button.ts';
import { GpioUnavailableError, resolveGpioLine } from './gpio-lines.ts';
import { FIX_INSTALL_GPIOD, openGpiomonButton } from './gpiomon-button.ts';

export type CaptureButtonOptions = {
  sysfsRoot?: string;
  chipLabel?: string;
  log: Logger;
  /** libgpiod tools for the fallback (default: found on PATH). */
  gpiomonPath?: string;
  gpiodetectPath?: string;
};

/**
 * The configured capture button: sysfs GPIO through onoff (interrupts or polling), or, on a kernel
 * without sysfs GPIO, libgpiod's gpiomon. When neither is available the error names every fix.
 */
export async function openCaptureButton(
  trigger: Extract<TriggerConfig, { kind: 'gpio' }>,
  options: CaptureButtonOptions,
) {
  const { sysfsRoot, chipLabel, log } = options;
  const pressedLevel = trigger.activeLow ? 0 : 1;
  const timing = {
    debounceMs: trigger.debounceMs,
    lockoutMs: trigger.lockoutMs,
    longPressMs: trigger.longPressMs,
  };
  let resolved: ReturnType<typeof resolveGpioLine>;
  try {
    resolved = resolveGpioLine(trigger.bcm, { sysfsRoot, chipLabel });
  } catch (err) {
    if (!(err instanceof GpioUnavailableError) || err.code !== 'no_sysfs_gpio') throw err;
    try {
      return await openGpiomonButton({ bcm: trigger.bcm, chipLabel, pressedLevel, ...timing, ...options });
    } catch (fallback) {
      if (!(fallback instanceof GpioUnavailableError) || fallback.code !== 'no_gpiomon') throw fallback;
      const sysfs = err.message.split(' Fix:')[0]!.replace(/\.$/, '');
      throw new GpioUnavailableError(
        'no_sysfs_gpio',
        `${sysfs}, and ${fallback.message}. ${FIX_INSTALL_GPIOD}`,
      );
    }
  }
  const { line, chip } = resolved;
  log.info({ bcm: trigger.bcm, line, chip: chip.label, base: chip.base }, 'capture button line resolved');
  return openGpioButton({ line, pressedLevel, ...timing, mode: trigger.mode, log });
}
