import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A host command and the Debian package that provides it (scripts/setup.sh installs them all). */
export type HostTool = { command: string; apt: string };

/** What building the package needs on the x86 machine. */
export const BUILD_TOOLS: HostTool[] = [
  { command: 'aarch64-linux-gnu-g++', apt: 'crossbuild-essential-arm64' },
  { command: 'aarch64-linux-gnu-strip', apt: 'crossbuild-essential-arm64' },
  { command: 'readelf', apt: 'binutils' },
  { command: 'make', apt: 'make' },
  { command: 'python3', apt: 'python3' },
  { command: 'dpkg-deb', apt: 'dpkg' },
  { command: 'npm', apt: 'npm (or Node from scripts/setup.sh)' },
];

/** What the emulated arm64 proof needs besides the build tools. */
export const EMULATION_TOOLS: HostTool[] = [
  { command: 'qemu-aarch64-static', apt: 'qemu-user-static' },
  { command: 'update-binfmts', apt: 'binfmt-support' },
  { command: 'mmdebstrap', apt: 'mmdebstrap' },
  { command: 'unshare', apt: 'util-linux' },
];

/** What the package-content tests need. */
export const CHECK_TOOLS: HostTool[] = [
  { command: 'lintian', apt: 'lintian' },
  { command: 'shellcheck', apt: 'shellcheck' },
  { command: 'qemu-aarch64-static', apt: 'qemu-user-static' },
];

export class MissingToolsError extends Error {
  readonly code = 'missing_host_tools';
}

export function onPath(command: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Throws one error listing every missing command with its package, so one apt-get fixes them all. */
export function requireTools(tools: HostTool[]): void {
  const missing = tools.filter((t) => !onPath(t.command));
  if (missing.length === 0) return;
  const list = missing.map((t) => `${t.command} (apt-get install ${t.apt})`).join(', ');
  throw new MissingToolsError(`missing host tools: ${list}. Fix: bash scripts/setup.sh installs them all.`);
}
