import { lstatSync, readFileSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
 * in $CREDENTIALS_DIRECTORY (LoadCredential=; `credentialsDir`), elsewhere the file itself. Refused when
 * missing, empty, open to others than its owner (see permissionProblem), malformed, or made for another
 * device — each with the fix.
 */
export function readDeviceSecretFile(
  path: string,
  deviceCode: string,
  credentialsDir: string | null = null,
): DeviceSecret {
  let stats: Stats;
  let text: string;
  try {
    stats = statSync(path);
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
  const problem = permissionProblem(path, stats, credentialsDir, deviceCode);
  if (problem) throw new DeviceSecretFileError(problem);
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

const octal = (mode: number) => (mode & 0o777).toString(8);

/**
 * What is wrong with the file's permissions, or null. The file itself must be 0600 or stricter (no
 * bit for group or others). systemd's copy in $CREDENTIALS_DIRECTORY is judged as systemd makes it:
 * where the directory's file system has ACLs (tmpfs: systemd ≥ 256 on a kernel ≥ 6.4, or its /run fallback),
 * it writes the file 0400 root and grants the service user read with an ACL entry, and `stat` shows the
 * ACL mask in the group bits (0440); on ramfs it chowns it to the service user, 0400. Both are
 * accepted: a regular file directly in that directory, owned by root or this process's user, without
 * write bits and without bits for others. The group bits are not judged there: they are the ACL mask,
 * and the directory itself is private to the service (systemd mounts it for this unit alone).
 */
function permissionProblem(
  path: string,
  stats: Stats,
  credentialsDir: string | null,
  deviceCode: string,
): string | null {
  const leaked = `as it may have leaked, have an admin run \`cti-server device rotate-secret ${deviceCode}\``;
  if (credentialsDir && dirname(resolve(path)) === resolve(credentialsDir)) {
    const owners = [0, process.getuid?.() ?? 0];
    const wrong = !lstatSync(path).isFile()
      ? 'is not a regular file'
      : !owners.includes(stats.uid)
        ? `is owned by uid ${stats.uid}, neither root nor the service's user`
        : (stats.mode & 0o007) !== 0
          ? `is readable by other users (mode ${octal(stats.mode)})`
          : (stats.mode & 0o222) !== 0
            ? `is writable (mode ${octal(stats.mode)})`
            : null;
    return wrong
      ? `systemd's copy of the device secret ${path} ${wrong}, unlike what LoadCredential= makes. Fix: sudo chmod 600 ${DEVICE_SECRET_FILE} && sudo chown root:root ${DEVICE_SECRET_FILE}, check the unit's LoadCredential= (\`systemctl cat cti-agent\`), sudo systemctl restart cti-agent and, ${leaked}`
      : null;
  }
  if ((stats.mode & 0o077) !== 0) {
    return `the device secret ${path} is readable by other users (mode ${octal(stats.mode)}). Fix: sudo chmod 600 ${path} and, ${leaked}`;
  }
  return null;
}
