import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  type Dirent,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { OutboxStore } from './outbox-store.ts';
import type { OutboxCapture } from './outbox-types.ts';

/** Where a discarded capture's spool directory goes (not a capture id: the start-up sweep leaves it). */
export const DISCARDED_DIR = 'discarded';

/** A discard or export the outbox refuses; the message names the capture and what to do. */
export class OutboxSalvageError extends Error {
  /** CLI exit code: 1 the capture is missing or in the wrong state, 2 a bad argument. */
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.name = 'OutboxSalvageError';
    this.exitCode = exitCode;
  }
}

interface SalvageContext {
  store: OutboxStore;
  spoolDir: string;
  clock: () => number;
  /** Test seam for the crash test (outbox-discard.test.ts): runs once the row records the files, before they are deleted. */
  beforeDeleteFiles?: (info: { captureId: string; dir: string }) => void;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function mustGet(store: OutboxStore, captureId: string): OutboxCapture {
  const capture = store.getCapture(captureId);
  if (!capture) throw new OutboxSalvageError(`no capture ${captureId} in the outbox`);
  return capture;
}

export interface DiscardOptions {
  reason?: string | null;
  /** Also give up a capture still pending (normally only a quarantined one). */
  force?: boolean;
  /** Delete the spool files instead of moving them to `spool/discarded/{captureId}/`. */
  deleteFiles?: boolean;
}

export interface DiscardResult {
  capture: OutboxCapture;
  /** Where its files are now; null when deleted (or there were none). */
  filesAt: string | null;
}

/**
 * Gives a capture up: it leaves the queue for good (never uploaded, no longer counted pending or
 * quarantined) and is listed as `discarded` with when and why. Its spool directory is moved to
 * `spool/discarded/` first (one rename on the same volume), then the row changes; should the row
 * have changed meanwhile (the service finished uploading a forced pending capture), the files go
 * back and nothing is discarded. A crash between the two leaves the row as it was and the files
 * moved aside; running discard again completes it.
 *
 * With `deleteFiles` the row records the directory first and forgets it only once it is deleted, so a
 * crash in between leaves a row that still names the files (review r8 F9: it said "deleted" and kept
 * them for ever); `discard --delete-files` on such an already discarded capture finishes the delete.
 */
export function discardCapture(
  { store, spoolDir, clock, beforeDeleteFiles }: SalvageContext,
  captureId: string,
  { reason = null, force = false, deleteFiles = false }: DiscardOptions = {},
): DiscardResult {
  const capture = mustGet(store, captureId);
  const asideRoot = join(spoolDir, DISCARDED_DIR);
  const aside = join(asideRoot, captureId);
  if (capture.state === 'discarded') {
    // Files an interrupted --delete-files left (recorded, or aside under a row an older agent cleared).
    const left = [capture.discardedDir, aside].find((dir) => dir !== null && existsSync(dir));
    if (deleteFiles && left) {
      deleteDiscardedFiles(store, captureId, left, beforeDeleteFiles);
      return { capture: mustGet(store, captureId), filesAt: null };
    }
    throw new OutboxSalvageError(
      `capture ${captureId} was already discarded at ${new Date(capture.discardedAt ?? 0).toISOString()}` +
        (left ? `; its files are in ${left} (--delete-files deletes them)` : ''),
    );
  }
  if (capture.state === 'uploaded') {
    throw new OutboxSalvageError(
      `capture ${captureId} is uploaded: nothing to give up (retention removes it)`,
    );
  }
  if (capture.state === 'pending' && !force) {
    throw new OutboxSalvageError(
      `capture ${captureId} is pending, not quarantined: it may still upload. ` +
        'Add --force to give it up anyway (export it first to keep its files)',
    );
  }
  const source = join(spoolDir, captureId);
  const moved = existsSync(source);
  if (moved) {
    if (existsSync(aside)) throw new OutboxSalvageError(`${aside} already exists: move it away first`);
    mkdirSync(asideRoot, { recursive: true });
    renameSync(source, aside);
    fsyncPath(spoolDir);
    fsyncPath(asideRoot);
  }
  const filesAt = existsSync(aside) ? aside : null; // also a move an interrupted discard made
  const now = clock();
  const changed = store.discard({ id: captureId, reason, dir: filesAt, now, force });
  if (changed === 0) {
    if (moved) {
      renameSync(aside, source);
      fsyncPath(spoolDir);
    }
    const state = store.getCapture(captureId)?.state ?? 'gone';
    throw new OutboxSalvageError(`capture ${captureId} changed to ${state} meanwhile; nothing was discarded`);
  }
  if (deleteFiles && filesAt) deleteDiscardedFiles(store, captureId, filesAt, beforeDeleteFiles);
  return { capture: mustGet(store, captureId), filesAt: deleteFiles ? null : filesAt };
}

/** Deletes a discarded capture's files, then (only then) clears the directory its row records. */
function deleteDiscardedFiles(
  store: OutboxStore,
  captureId: string,
  dir: string,
  beforeDelete?: SalvageContext['beforeDeleteFiles'],
): void {
  beforeDelete?.({ captureId, dir });
  rmSync(dir, { recursive: true, force: true });
  fsyncPath(dirname(dir));
  store.filesDeleted(captureId);
}

/**
 * The capture directories in `spool/discarded/` and the bytes of their files, as found on disk (also
 * those an older agent's interrupted `--delete-files` left behind a row that says deleted).
 */
export function discardedOnDisk(spoolDir: string): { captures: number; bytes: number } {
  const root = join(spoolDir, DISCARDED_DIR);
  let captures = 0;
  let bytes = 0;
  let entries: Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return { captures, bytes }; // none discarded yet (or unreadable: nothing to name)
  }
  for (const entry of entries.filter((e) => e.isDirectory())) {
    captures++;
    try {
      for (const file of readdirSync(join(root, entry.name), { withFileTypes: true })) {
        if (file.isFile()) bytes += statSync(join(root, entry.name, file.name)).size;
      }
    } catch {
      // Unreadable or removed meanwhile: counted, its bytes unknown.
    }
  }
  return { captures, bytes };
}

export interface ExportedFile {
  name: string;
  sizeBytes: number | null;
  /** `ok`: the bytes recorded at capture; `changed`: other bytes (copied as found); `missing`. */
  check: 'ok' | 'changed' | 'missing';
  sha256: string | null;
  expectedSha256: string;
}

/**
 * Copies a capture's spool files (of any state; a discarded one's from where discard moved them, and
 * so a capture whose discard was interrupted after the move)
 * into `{dir}/{captureId}/` with `outbox-record.json` (its row, objects and what each file's bytes
 * hash to now against the sha256 recorded at capture). Written into a temp directory, fsynced and
 * renamed, so the target is complete or absent. `dir` must exist; an existing target is refused.
 */
export function exportCapture(
  { store, spoolDir }: Omit<SalvageContext, 'clock'>,
  captureId: string,
  dir: string,
): { target: string; files: ExportedFile[] } {
  const capture = mustGet(store, captureId);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new OutboxSalvageError(`${dir} is not a directory (create it first)`, 2);
  }
  let from = capture.state === 'discarded' ? capture.discardedDir : join(spoolDir, captureId);
  // A discard killed between moving the files and marking the row left them aside (review r8 F4).
  const aside = join(spoolDir, DISCARDED_DIR, captureId);
  if (from !== null && !existsSync(from) && capture.state !== 'discarded' && existsSync(aside)) from = aside;
  if (from === null)
    throw new OutboxSalvageError(`capture ${captureId}'s files were deleted when it was discarded`);
  if (!existsSync(from)) throw new OutboxSalvageError(`capture ${captureId} has no files at ${from}`);
  const target = join(dir, captureId);
  if (existsSync(target))
    throw new OutboxSalvageError(`${target} already exists: choose another directory`, 2);
  const objects = store.objectsOf(captureId);
  const temp = join(dir, `.${captureId}.partial-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(temp);
  } catch (error) {
    throw cannotWrite(dir, error);
  }
  try {
    const files = objects.map((o): ExportedFile => {
      const path = join(from, o.name);
      if (!existsSync(path))
        return { name: o.name, sizeBytes: null, check: 'missing', sha256: null, expectedSha256: o.sha256 };
      copyFileSync(path, join(temp, o.name));
      fsyncPath(join(temp, o.name));
      const data = readFileSync(join(temp, o.name));
      const sha256 = createHash('sha256').update(data).digest('hex');
      const check = sha256 === o.sha256 && data.length === o.sizeBytes ? 'ok' : 'changed';
      return { name: o.name, sizeBytes: data.length, check, sha256, expectedSha256: o.sha256 };
    });
    const record = JSON.stringify({ capture, objects, files, exportedFrom: from }, null, 2);
    writeFileSync(join(temp, 'outbox-record.json'), `${record}\n`);
    fsyncPath(join(temp, 'outbox-record.json'));
    fsyncPath(temp);
    renameSync(temp, target);
    fsyncPath(dir);
    return { target, files };
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw cannotWrite(dir, error);
  }
}

/**
 * A file-system error writing the export (a full or read-only target, no permission) as one line
 * naming the directory (review r8 F10: it was a stack trace); anything else as it is.
 */
function cannotWrite(dir: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code || !['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO'].includes(code)) return error;
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'its volume is full'
      : code === 'EROFS'
        ? 'its volume is read-only'
        : code === 'EIO'
          ? 'an I/O error (a failing disk?)'
          : 'this user may not write there';
  return new OutboxSalvageError(
    `cannot write the export into ${dir}: ${why} (${code}); nothing was left there — choose another directory (a USB stick with room)`,
  );
}
