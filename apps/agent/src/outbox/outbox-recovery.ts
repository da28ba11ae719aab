import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { isValidCaptureId, isValidFileName, META_FILE, rawObjectKey } from '@cti/contracts';
import type { Logger } from 'pino';
import type { OutboxStore } from './outbox-store.ts';
import type { CommittedObject } from './outbox-types.ts';
import { TEMP_PREFIX } from './spool.ts';

/** Where a new database's re-import keeps a capture directory it could not read as complete. */
export const UNIMPORTED_PREFIX = 'unimported-';
/** More rowless capture dirs than a crash can leave: the database was lost, keep the files. */
const MAX_CRASH_ORPHANS = 4;
/**
 * A directory changed less than this long ago may be a commit in progress (renamed into the spool,
 * its row not yet inserted: the insert can wait out SQLite's 5 s busy timeout): never swept. One
 * owner at a time is the rule (the owner lock); this keeps a breach of it from deleting a capture.
 */
export const YOUNG_DIR_MS = 10_000;

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface RecoverOptions {
  store: OutboxStore;
  spoolDir: string;
  /** The database was made at this open (missing, empty, or moved aside), not found. */
  created: boolean;
  now: number;
  log?: Logger;
  /** Called before the re-import of a new database and after each capture of it (systemd start timeout). */
  onReimportProgress?: ReimportProgress;
}

export type ReimportProgress = (progress: { done: number; total: number }) => void;

/**
 * What the owner does at open. Directories changed in the last YOUNG_DIR_MS are left alone (a commit
 * may be in progress). Temp dirs are crash leftovers and go. Capture dirs without a row:
 * - into a database that existed, at most the few a crash between the spool rename and the DB commit
 *   leaves (the caller was never told "taken") are removed; more mean the database was replaced, and
 *   then nothing is deleted;
 * - into a database made at this open — or one whose re-import did not finish (the `reimport_pending`
 *   stats row, set with the schema, deleted once every directory is imported or set aside) — they are
 *   never crash leftovers (the database was lost or moved aside): each complete capture is re-imported
 *   as pending; any other is renamed `unimported-{id}` (kept, out of the sweep's way) and logged.
 * Rows left 'uploading' by a process that died go back to pending.
 */
export function recoverAtOpen({
  store,
  spoolDir,
  created: made,
  now,
  log,
  onReimportProgress,
}: RecoverOptions): void {
  // A database made at this open, or one whose re-import an earlier open began and did not finish
  // (killed, power cut, a full volume): its row-less capture directories are captures to re-import.
  const created = made || store.reimportPending();
  // The spool first, the known ids after: a capture committed in between (dir renamed, then row
  // inserted) is then known, never taken for a leftover.
  const entries = readdirSync(spoolDir, { withFileTypes: true });
  const known = store.knownIds();
  const wallNow = Date.now(); // compared with file times: the wall clock, not the injected one
  const settled = (name: string) => !isYoung(join(spoolDir, name), wallNow);
  const temp = entries.filter((e) => e.name.startsWith(TEMP_PREFIX)).map((e) => e.name);
  const orphans = entries
    .filter((e) => e.isDirectory() && isValidCaptureId(e.name) && !known.has(e.name))
    .map((e) => e.name);
  const sweepOrphans = !created && orphans.length <= MAX_CRASH_ORPHANS;
  if (created) {
    if (orphans.length > 0) reimport(store, spoolDir, orphans, log, onReimportProgress);
    store.reimportDone(); // every one imported or renamed aside: later leftovers are a crash's
  } else if (!sweepOrphans && orphans.length > 0) {
    log?.error(
      { count: orphans.length, spoolDir },
      'spool holds many captures the database does not know; left in place',
    );
  }
  const leftovers = [...temp, ...(sweepOrphans ? orphans : [])];
  const removed = leftovers.filter(settled);
  for (const name of removed) rmSync(join(spoolDir, name), { recursive: true, force: true });
  if (removed.length > 0) fsyncDirSync(spoolDir);
  if (removed.length < leftovers.length)
    log?.warn(
      { left: leftovers.filter((name) => !removed.includes(name)) },
      'spool entries without a row changed in the last seconds: left for the next start',
    );
  const interrupted = store.resetInterrupted(now);
  if (removed.length || interrupted)
    log?.warn({ removed, interrupted }, 'outbox recovered after an unclean stop');
}

const dirTime = (path: string) => {
  try {
    return Math.round(statSync(path).mtimeMs);
  } catch {
    return Number.POSITIVE_INFINITY; // gone: readSpoolCapture names the problem
  }
};

/** Changed within YOUNG_DIR_MS of `now`, or gone meanwhile (nothing to sweep then). */
function isYoung(path: string, now: number): boolean {
  try {
    return now - statSync(path).mtimeMs < YOUNG_DIR_MS;
  } catch {
    return true;
  }
}

function reimport(
  store: OutboxStore,
  spoolDir: string,
  ids: string[],
  log?: Logger,
  onProgress?: ReimportProgress,
): void {
  // In the order they were committed (the directory appeared at the commit's rename): sorted by the
  // directories' times first, so each capture is read, hashed and imported in one pass with progress.
  const made = new Map(ids.map((id) => [id, dirTime(join(spoolDir, id))]));
  const ordered = [...ids].sort((a, b) => made.get(a)! - made.get(b)! || a.localeCompare(b));
  const found: Array<SpoolCapture | { captureId: string; problem: string }> = [];
  onProgress?.({ done: 0, total: ordered.length });
  for (const id of ordered) {
    const capture = readSpoolCapture(spoolDir, id);
    if (!('problem' in capture)) store.importCapture(capture, capture.objects);
    found.push(capture);
    onProgress?.({ done: found.length, total: ordered.length });
  }
  const complete = found.filter((c) => !('problem' in c));
  const left = found.filter((c): c is { captureId: string; problem: string } => 'problem' in c);
  log?.warn(
    { reimported: complete.length, left: left.length, spoolDir },
    'new outbox database: re-imported the complete captures found in the spool as pending',
  );
  // Renamed out of the capture-id namespace, so no later open takes them for a crash's leftovers.
  for (const { captureId, problem } of left) {
    const kept = `${UNIMPORTED_PREFIX}${captureId}`;
    renameSync(join(spoolDir, captureId), join(spoolDir, kept));
    log?.error(
      { captureId, problem, kept: join(spoolDir, kept) },
      'spool capture not re-imported (incomplete); kept',
    );
  }
  if (left.length > 0) fsyncDirSync(spoolDir);
}

interface SpoolCapture {
  captureId: string;
  deviceCode: string;
  capturedAt: string;
  committedAt: number;
  objects: CommittedObject[];
}

/**
 * A capture directory as the outbox would have committed it: meta.json naming this capture, its
 * device and time (they make the S3 keys), plain file names, and the image and mask whose hashes
 * meta.json gives present with those hashes. Anything else is a problem, named.
 */
export function readSpoolCapture(
  spoolDir: string,
  captureId: string,
): SpoolCapture | { captureId: string; problem: string } {
  const dir = join(spoolDir, captureId);
  try {
    const names = readdirSync(dir);
    const bad = names.find((n) => !isValidFileName(n));
    if (bad !== undefined) return { captureId, problem: `unexpected file ${JSON.stringify(bad)}` };
    if (!names.includes(META_FILE)) return { captureId, problem: 'no meta.json' };
    const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as Record<string, unknown>;
    if (meta?.capture_id !== captureId) return { captureId, problem: 'meta.json names another capture' };
    const deviceCode = String(meta.device_code);
    const capturedAt = String(meta.captured_at);
    const objects = names.map((name) => {
      const data = readFileSync(join(dir, name));
      const key = rawObjectKey({ deviceCode, capturedAt, captureId, file: name });
      return { name, key, sha256: createHash('sha256').update(data).digest('hex'), sizeBytes: data.length };
    });
    const files = (meta.files ?? {}) as Record<string, unknown>;
    for (const [file, hash] of [
      [files.image_relpath, meta.image_sha256],
      [files.mask_relpath, meta.mask_sha256],
    ]) {
      if (typeof file !== 'string') continue;
      const object = objects.find((o) => o.name === file);
      if (!object) return { captureId, problem: `${file} missing` };
      if (typeof hash === 'string' && hash !== object.sha256)
        return { captureId, problem: `${file} does not match its sha256 in meta.json` };
    }
    return { captureId, deviceCode, capturedAt, committedAt: Math.round(statSync(dir).mtimeMs), objects };
  } catch (error) {
    return { captureId, problem: (error as Error).message };
  }
}
