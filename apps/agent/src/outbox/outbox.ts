import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, fsyncSync, openSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { isValidCaptureId, isValidFileName, META_FILE, rawObjectKey } from '@cti/contracts';
import { makeDirectorySync } from '@cti/runtime';
import type { Logger } from 'pino';
import { type OutboxAccess, openOutboxDb } from './outbox-db.ts';
import { DiskFloorError, DuplicateCaptureError, OutboxInputError } from './outbox-errors.ts';
import { type DiscardOptions, discardCapture, exportCapture } from './outbox-salvage.ts';
import { createOutboxStore } from './outbox-store.ts';
import type {
  CommitCaptureInput,
  CommitResult,
  CommittedObject,
  OutboxCapture,
  OutboxCaptureDetail,
  OutboxSummary,
} from './outbox-types.ts';
import { removeCaptureDir, TEMP_PREFIX, writeCaptureDir } from './spool.ts';

/** Free bytes available to this user on the volume holding `path` (fs.statfs by default). */
export type StatfsFn = (path: string) => { bavail: number | bigint; bsize: number | bigint };

export interface OutboxHooks {
  /** Test seam used only by the crash harness: runs after the spool dir is durable, before the DB commit. */
  afterFilesWritten?: (info: { captureId: string; dir: string }) => void | Promise<void>;
}

export interface CreateOutboxOptions {
  dbPath: string;
  spoolDir: string;
  clock?: () => number;
  log?: Logger;
  /** Refuse captures that would leave less than this free on the spool volume (default 200 MB). */
  minFreeBytes?: number;
  statfs?: StatfsFn;
  /**
   * The owning process (the service) sweeps orphans and resets interrupted uploads at open. A second
   * process on the same files (the CLI) must pass false, or it could remove a capture the service
   * is committing at that moment.
   */
  owner?: boolean;
  /**
   * `create` (default, the service) makes a missing database and spool directory. The CLI opens an
   * existing outbox: `readonly` to look, `existing` to change it (retry); a missing database is then
   * an OutboxMissingError and nothing is created.
   */
  access?: OutboxAccess;
  hooks?: OutboxHooks;
}

const DEFAULT_MIN_FREE = 200 * 1024 * 1024;
/** More rowless capture dirs than a crash can leave: the database was lost, keep the files. */
const MAX_CRASH_ORPHANS = 4;
const sha256Hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function validateInput(input: CommitCaptureInput): void {
  if (!Array.isArray(input.files) || input.files.length === 0) {
    throw new OutboxInputError(`capture ${input.captureId}: no files given`);
  }
  const names = new Set<string>();
  for (const file of input.files) {
    if (!isValidFileName(file.name))
      throw new OutboxInputError(`capture ${input.captureId}: bad file name ${JSON.stringify(file.name)}`);
    if (names.has(file.name))
      throw new OutboxInputError(`capture ${input.captureId}: file ${file.name} given twice`);
    if (!(file.data instanceof Uint8Array))
      throw new OutboxInputError(`capture ${input.captureId}: ${file.name} data is not a Buffer`);
    names.add(file.name);
  }
  if (!names.has(META_FILE)) {
    throw new OutboxInputError(
      `capture ${input.captureId}: meta.json missing (it is the upload commit marker)`,
    );
  }
}

/**
 * The durable outbox: a spool directory of capture files plus a SQLite database of captures and
 * their objects. `commitCapture` is all-or-nothing across a crash at any instant (see
 * docs/agent-outbox.md); the uploader drains it; the CLI and status read it.
 *
 * @example
 * const outbox = createOutbox({ dbPath: '/var/lib/cti/outbox.db', spoolDir: '/var/lib/cti/spool', log });
 * await outbox.commitCapture({ captureId, deviceCode, capturedAt, files: [{ name: 'meta.json', data }] });
 */
export function createOutbox({
  dbPath,
  spoolDir,
  clock = Date.now,
  log,
  minFreeBytes = DEFAULT_MIN_FREE,
  statfs = statfsSync,
  owner = true,
  access = 'create',
  hooks = {},
}: CreateOutboxOptions) {
  // Not mkdir's recursive: it spins forever where the kernel refuses the level (a spool_dir under /proc).
  if (access === 'create') makeDirectorySync(spoolDir);
  const db = openOutboxDb(dbPath, access);
  const store = createOutboxStore(db);
  const committing = new Set<string>();
  // 'committed' lets an uploader in the same process start at once instead of at its next poll.
  const events = new EventEmitter<{ committed: [{ captureId: string }] }>();
  if (owner) recoverAtOpen();

  /**
   * Crash leftovers: temp dirs, and capture dirs whose DB commit never happened (never told
   * "taken"). A crash leaves at most the few captures being committed at that instant; many dirs
   * without rows mean the database was lost or replaced, and then nothing is deleted.
   */
  function recoverAtOpen(): void {
    const known = store.knownIds();
    const entries = readdirSync(spoolDir, { withFileTypes: true });
    const temp = entries.filter((e) => e.name.startsWith(TEMP_PREFIX)).map((e) => e.name);
    const orphans = entries
      .filter((e) => e.isDirectory() && isValidCaptureId(e.name) && !known.has(e.name))
      .map((e) => e.name);
    const sweepOrphans = orphans.length <= MAX_CRASH_ORPHANS;
    if (!sweepOrphans) {
      log?.error(
        { count: orphans.length, spoolDir },
        'spool holds many captures the database does not know; left in place',
      );
    }
    const removed = [...temp, ...(sweepOrphans ? orphans : [])];
    for (const name of removed) rmSync(join(spoolDir, name), { recursive: true, force: true });
    if (removed.length > 0) fsyncDirSync(spoolDir);
    const interrupted = store.resetInterrupted(clock());
    if (removed.length || interrupted)
      log?.warn({ removed, interrupted }, 'outbox recovered after an unclean stop');
  }

  function checkDiskFloor(neededBytes: number): void {
    const { bavail, bsize } = statfs(spoolDir);
    const freeBytes = Number(bavail) * Number(bsize);
    if (freeBytes - neededBytes < minFreeBytes) {
      throw new DiskFloorError('below_floor', { freeBytes, minFreeBytes, neededBytes });
    }
  }

  function describe(input: CommitCaptureInput): CommittedObject[] {
    return input.files.map((f) => ({
      name: f.name,
      key: rawObjectKey({
        deviceCode: input.deviceCode,
        capturedAt: input.capturedAt,
        captureId: input.captureId,
        file: f.name,
      }),
      sha256: sha256Hex(f.data),
      sizeBytes: f.data.byteLength,
    }));
  }

  async function writeFiles(input: CommitCaptureInput, neededBytes: number): Promise<number> {
    try {
      return await writeCaptureDir(spoolDir, input.captureId, input.files);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      const { bavail, bsize } = statfs(spoolDir);
      throw new DiskFloorError('disk_full', {
        freeBytes: Number(bavail) * Number(bsize),
        minFreeBytes,
        neededBytes,
      });
    }
  }

  async function commitCapture(input: CommitCaptureInput): Promise<CommitResult> {
    validateInput(input);
    const objects = describe(input); // validates ids and date through the contracts layout
    const { captureId } = input;
    if (committing.has(captureId) || store.captureExists(captureId))
      throw new DuplicateCaptureError(captureId);
    const neededBytes = objects.reduce((n, o) => n + o.sizeBytes, 0);
    checkDiskFloor(neededBytes);
    committing.add(captureId);
    try {
      const fsyncs = await writeFiles(input, neededBytes);
      await hooks.afterFilesWritten?.({ captureId, dir: join(spoolDir, captureId) });
      const capturedAt =
        typeof input.capturedAt === 'string' ? input.capturedAt : input.capturedAt.toISOString();
      try {
        store.insertCapture({ captureId, deviceCode: input.deviceCode, capturedAt, now: clock() }, objects);
      } catch (error) {
        await removeCaptureDir(spoolDir, captureId);
        if ((error as { code?: string }).code !== 'SQLITE_FULL') throw error;
        const { bavail, bsize } = statfs(spoolDir);
        throw new DiskFloorError('disk_full', {
          freeBytes: Number(bavail) * Number(bsize),
          minFreeBytes,
          neededBytes,
        });
      }
      log?.debug({ captureId, bytes: neededBytes }, 'capture committed to outbox');
      events.emit('committed', { captureId });
      return { captureId, objects, fsyncs: fsyncs + 1 };
    } finally {
      committing.delete(captureId);
    }
  }

  function summary(): OutboxSummary {
    const s = store.summaryRows();
    return {
      pendingCaptures: s.totals.captures,
      pendingBytes: s.totals.bytes,
      oldestPendingAgeMs: s.totals.oldest === null ? null : Math.max(0, clock() - s.totals.oldest),
      lastSuccessAt: s.lastSuccessAt,
      lastError: s.lastError,
      quarantined: s.quarantined,
      discarded: s.discarded,
      uploadedTotal: s.uploadedTotal,
    };
  }

  function show(captureId: string): OutboxCaptureDetail | null {
    const capture = store.getCapture(captureId);
    return capture ? { ...capture, objects: store.objectsOf(captureId) } : null;
  }

  /**
   * Retention: removes spool files and rows of captures uploaded more than `olderThanMs` ago (only
   * state 'uploaded' — nothing pending or quarantined is ever deleted), then gives freed pages back.
   */
  async function prune({
    olderThanMs,
    batch = 500,
  }: {
    olderThanMs: number;
    batch?: number;
  }): Promise<number> {
    let removed = 0;
    for (;;) {
      const ids = store.expired(clock() - olderThanMs, batch);
      for (const id of ids) {
        // Files first: a crash in between leaves a row without files, never files without a row.
        await removeCaptureDir(spoolDir, id);
        removed += store.deleteCapture(id);
      }
      if (ids.length < batch) break;
    }
    if (removed > 0) {
      db.pragma('incremental_vacuum');
      db.pragma('wal_checkpoint(TRUNCATE)');
      log?.info({ removed }, 'outbox retention removed uploaded captures');
    }
    return removed;
  }

  return {
    commitCapture,
    summary,
    /** When the newest capture still in the outbox was committed (ms since the epoch), null if none. */
    lastCommittedAt: (): number | null => store.lastCommittedAt(),
    show,
    list: ({ state = null, limit = 100 }: { state?: OutboxCapture['state'] | null; limit?: number } = {}) =>
      store.list(state, limit),
    quarantined: (limit = 1000) => store.list('quarantined', limit),
    /** Puts a quarantined capture (or all, without id) back in the queue and clears backoff delays. */
    retry: (captureId?: string) => store.retry(captureId ?? null),
    /** Gives a capture up for good, its files moved aside (outbox-salvage.ts; `cti-agent outbox discard`). */
    discard: (captureId: string, options?: DiscardOptions) =>
      discardCapture({ store, spoolDir, clock }, captureId, options),
    /** Copies a capture's files and record to `{dir}/{captureId}/` (`cti-agent outbox export`). */
    exportCapture: (captureId: string, dir: string) => exportCapture({ store, spoolDir }, captureId, dir),
    prune,
    spoolPath: (captureId: string, name: string) => join(spoolDir, captureId, name),
    spoolDir,
    events,
    /** Internal API for the uploader (same package). */
    store,
    clock,
    close: (): void => {
      db.close();
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
