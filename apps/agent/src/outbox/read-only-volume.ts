import { accessSync, constants, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isReadOnlyMount } from '../startup/read-only-mount.ts';
import { OutboxCorruptError, OutboxDbError } from './outbox-errors.ts';

/**
 * The database's volume is read-only: a failing card the kernel remounted read-only (`ro`, or ext4's
 * `emergency_ro`, which passes access(W_OK)). Nothing can change the file there, so a copy is exact.
 */
export function onReadOnlyVolume(dbPath: string): boolean {
  const dir = dirname(dbPath);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EROFS') return true;
  }
  return isReadOnlyMount(dir);
}

const CARD_FIX =
  'export the pending captures (`cti-agent outbox export <capture_id> <dir>` to another volume), then ' +
  'replace the card (`dmesg`)';

/** What a reader of an outbox on a read-only volume tells the operator (the CLI prints it). */
export function readOnlyVolumeNote(dbPath: string, how: 'in place' | 'snapshot'): string {
  const read =
    how === 'snapshot' ? 'this is a snapshot copied from it' : 'this is what it holds, read in place';
  return (
    `the data volume holding ${dbPath} is read-only (a failing card the kernel remounted read-only?): ` +
    `${read}, nothing on it was changed. Fix: ${CARD_FIX}`
  );
}

/**
 * A damaged database (SQLITE_NOTADB, SQLITE_CORRUPT) on a read-only volume: nothing can be moved
 * aside or repaired there, and `outbox export` needs the database. What is left is the spool beside
 * it: copied to the new card, the agent's new outbox re-imports it (outbox-recovery.ts).
 */
export function damagedOnReadOnlyVolume(dbPath: string, err: Error): OutboxCorruptError {
  const spool = join(dirname(dbPath), 'spool');
  return new OutboxCorruptError(
    dbPath,
    `cannot be opened: ${err.message}; it is on a read-only volume (a failing card the kernel remounted read-only?)`,
    {
      cause: err,
      fix:
        `nothing can be repaired or moved on that card: copy its spool directory to another volume ` +
        `(\`cp -a ${spool} <dir>\`: each capture's files), replace the card (\`dmesg\`) and put the copy at ` +
        'spool/ under data_dir on the new one: the agent starts a new outbox and re-imports the complete ' +
        'captures found there, checked against the store before sending, so none is stored twice',
    },
  );
}

/** A directory that cannot take the copy (missing, read-only, full, not ours): try the next one. */
const UNUSABLE = new Set(['ENOENT', 'ENOTDIR', 'EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Where a copy may go, in order: $TMPDIR (os.tmpdir()), then RAM: the user's runtime directory and
 * /dev/shm. /tmp may be on the failed card itself (Raspberry Pi OS keeps it on the SD card).
 */
function tempCandidates(): string[] {
  const uid = process.getuid?.();
  const runtime = process.env.XDG_RUNTIME_DIR || (uid === undefined ? '' : `/run/user/${uid}`);
  return [...new Set([tmpdir(), runtime, '/dev/shm'].filter(Boolean))];
}

/**
 * Copies `outbox.db` and its `-wal` into a fresh private directory (see tempCandidates) and returns
 * the copy's path and how to remove it. Throws an OutboxDbError naming every directory tried and why
 * it did not take the copy, with the fix (TMPDIR), never a bare fs error.
 */
export function copyToTemp(dbPath: string): { path: string; remove(): void } {
  const tried: string[] = [];
  for (const parent of tempCandidates()) {
    let dir: string | undefined;
    try {
      dir = mkdtempSync(join(parent, 'cti-outbox-snapshot-'));
      const path = join(dir, 'outbox.db');
      copyFileSync(dbPath, path);
      if (existsSync(`${dbPath}-wal`)) copyFileSync(`${dbPath}-wal`, `${path}-wal`);
      const made = dir;
      return { path, remove: () => rmSync(made, { recursive: true, force: true }) };
    } catch (err) {
      if (dir) rmSync(dir, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!UNUSABLE.has(code)) {
        // Not the temp directory's fault (EIO reading the card…): another one would fail alike.
        throw new OutboxDbError(
          dbPath,
          `is on a read-only volume and could not be copied to read it (${(err as Error).message})`,
          { cause: err, fix: `${CARD_FIX}; do not move the file aside: it holds the upload queue` },
        );
      }
      tried.push(`${parent}: ${code}`);
    }
  }
  const mb = Math.ceil((size(dbPath) + size(`${dbPath}-wal`)) / 1e6);
  throw new OutboxDbError(
    dbPath,
    `is on a read-only volume and could not be copied to read it: no temp directory took the copy (${tried.join(', ')})`,
    {
      fix:
        `run the command again with TMPDIR=<a writable directory off the card, with ${mb} MB free>; ` +
        'do not move the file aside: it holds the upload queue',
    },
  );
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
