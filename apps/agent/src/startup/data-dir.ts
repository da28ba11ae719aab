import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import { makeDirectorySync } from '@cti/runtime';
import { ConfigError } from '../config/agent-config.ts';
import { isReadOnlyMount } from './read-only-mount.ts';
import { StartupError } from './startup-errors.ts';

/** The directory the shipped unit lets the service write (ReadWritePaths= in cti-agent.service). */
export const UNIT_DATA_DIR = '/var/lib/cti';

/** Who runs this process, for messages ("cannot read … as pi"): the login name, else the uid. */
export function invokingUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.()}`;
  }
}

/**
 * What is wrong and what to do when `dataDir` (or `path` inside it) cannot be written: on a read-only
 * file system (EROFS) — the unit's ProtectSystem=strict for any data_dir but /var/lib/cti, or a card
 * the kernel remounted read-only — and for a directory the agent's user may not write (EACCES,
 * EPERM). Null for any other error.
 */
export function describeUnwritable(
  dataDir: string,
  err: unknown,
  path = dataDir,
): { problem: string; fix: string } | null {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EROFS') {
    return {
      problem: `data_dir ${dataDir} is read-only for the agent (EROFS on ${path})`,
      fix:
        `under systemd the unit makes everything but ${UNIT_DATA_DIR} read-only — add a drop-in ` +
        `(\`sudo systemctl edit cti-agent\`: [Service] ReadWritePaths=${dataDir}) and restart; if the file ` +
        'system itself went read-only (a failing SD card or disk is remounted read-only), check `dmesg` and ' +
        '`findmnt` and replace the card',
    };
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return {
      problem: `data_dir ${dataDir} is not writable by the agent's user (${code} on ${path})`,
      fix:
        `\`sudo install -d -o cti -g cti ${dataDir}\` (files in it: \`sudo chown -R cti:cti ${dataDir}\`) and, ` +
        `under systemd, a drop-in with ReadWritePaths=${dataDir} if it is not ${UNIT_DATA_DIR}`,
    };
  }
  return null;
}

/**
 * The problem and fix when `dataDir` is a file, or lies under one (mkdir gives EEXIST or ENOTDIR): a
 * config mistake such as "data_dir": "/var/lib/cti/outbox.db" (review r20 F8), so said as one.
 */
export function describeNotADirectory(dataDir: string): { problem: string; fix: string } {
  return {
    problem: `data_dir ${dataDir} is not a directory (a file is there)`,
    fix: `point "data_dir" in the agent config at a directory (default ${UNIT_DATA_DIR}), or move that file away`,
  };
}

/**
 * Makes `dataDir` if missing and checks this process may write it, on a mount that is not read-only
 * (isReadOnlyMount); a read-only or foreign directory is a StartupError with the fix instead of a
 * raw `EROFS … mkdir` stack trace; a file where the directory should be is a ConfigError (exit 2).
 */
export function ensureWritableDataDir(dataDir: string): void {
  try {
    makeDirectorySync(dataDir);
    accessSync(dataDir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      const { problem, fix } = describeNotADirectory(dataDir);
      throw new ConfigError(`${problem}. Fix: ${fix}`, { cause: err });
    }
    const described = describeUnwritable(dataDir, err);
    if (described) throw new StartupError(`${described.problem}. Fix: ${described.fix}`, { cause: err });
    throw err;
  }
  // An ext4 card in emergency_ro passes access(W_OK); only its writes fail (review r10 F1).
  if (isReadOnlyMount(dataDir)) {
    const { problem, fix } = describeUnwritable(dataDir, { code: 'EROFS' })!;
    throw new StartupError(`${problem}. Fix: ${fix}`);
  }
}
