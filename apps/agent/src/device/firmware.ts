import { readFileSync } from 'node:fs';

export type Firmware = { pi_os: string; app_version: string };

function osName(osRelease: string, rpiIssue: string | null): string {
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1]?.trim();
  const base = pretty || 'unknown OS';
  // Raspberry Pi OS images carry their build date in /etc/rpi-issue ("Raspberry Pi reference 2025-05-13").
  const ref = rpiIssue ? /reference (\d{4}-\d{2}-\d{2})/.exec(rpiIssue)?.[1] : undefined;
  return (ref ? `${base} (Raspberry Pi OS ${ref})` : base).slice(0, 128);
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** meta.json `firmware`: the OS from /etc/os-release (+ /etc/rpi-issue) and this package's version. */
export function readFirmware({
  osReleasePath = '/etc/os-release',
  rpiIssuePath = '/etc/rpi-issue',
  packageJsonUrl = new URL('../../package.json', import.meta.url),
}: {
  osReleasePath?: string;
  rpiIssuePath?: string;
  packageJsonUrl?: URL;
} = {}): Firmware {
  const pkg = JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { version: string };
  return {
    pi_os: osName(readOrNull(osReleasePath) ?? '', readOrNull(rpiIssuePath)),
    app_version: pkg.version,
  };
}
