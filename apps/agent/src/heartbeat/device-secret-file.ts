import { readFileSync, statSync } from 'node:fs';
import { type DeviceSecret, DeviceSecretError, parseDeviceSecret } from '@cti/contracts';
import { DEVICE_SECRET_FILE } from '../config/agent-config.ts';

/** The device secret cannot be used; the message names the file, the problem and the fix. */
export class DeviceSecretFileError extends Error {
  override name = 'DeviceSecretFileError';
}

/** What the unit's `SetCredential=device-secret:missing` passes while /etc/cti/device-secret does not exist. */
export const SECRET_PLACEHOLDER = 'missing';

const INSTALL = `an admin runs \`cti-server device add <device_code>\` and on the Pi: sudo install -m 0600 -o root -g root /dev/stdin ${DEVICE_SECRET_FILE} (paste, Ctrl-D), then sudo systemctl restart cti-agent`;

/**
 * Read this device's secret from `path`: on a Pi systemd's copy of the root-only /etc/cti/device-secret
 * in $CREDENTIALS_DIRECTORY (LoadCredential=). Refused when missing, empty, readable by group or others,
 * malformed, or made for another device — each with the fix.
 */
export function readDeviceSecretFile(path: string, deviceCode: string): DeviceSecret {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DeviceSecretFileError(`no device secret at ${path}. Fix: ${INSTALL}`);
    if (code === 'EACCES') {
      throw new DeviceSecretFileError(
        `cannot read the device secret ${path} (permission denied): it is root-only; the service gets it through systemd's LoadCredential=, and \`sudo cti-agent doctor\` can check it`,
      );
    }
    throw new DeviceSecretFileError(`cannot read the device secret ${path}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new DeviceSecretFileError(
      `the device secret ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}). Fix: sudo chmod 600 ${path} and, as it may have leaked, have an admin run \`cti-server device rotate-secret ${deviceCode}\``,
    );
  }
  if (text.trim() === '' || text.trim() === SECRET_PLACEHOLDER) {
    throw new DeviceSecretFileError(
      `no device secret installed: ${path} is ${text.trim() === '' ? 'empty' : `systemd's placeholder (${DEVICE_SECRET_FILE} does not exist)`}. Fix: ${INSTALL}`,
    );
  }
  let secret: DeviceSecret;
  try {
    secret = parseDeviceSecret(text);
  } catch (err) {
    if (!(err instanceof DeviceSecretError)) throw err;
    throw new DeviceSecretFileError(`the device secret ${path} is not usable: ${err.message}`);
  }
  if (secret.deviceCode !== deviceCode) {
    throw new DeviceSecretFileError(
      `the device secret ${path} was made for device ${secret.deviceCode}, but this agent's device_code is ${deviceCode}. Fix: install this device's secret (or correct device_code)`,
    );
  }
  return secret;
}
