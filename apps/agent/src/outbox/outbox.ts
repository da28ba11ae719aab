import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isValidFileName, META_FILE, rawObjectKey } from '@cti/contracts';
import { makeDirectorySync } from '@cti/runtime';
import type { Logger } from 'pino';
import { type OutboxAccess, openOutboxDb, type StatfsFn } from './outbox-db.ts';
import { DiskFloorError, DuplicateCaptureError, OutboxInputError } from './outbox-errors.ts';
import { type ReimportProgress, recoverAtOpen } from './outbox-recovery.ts';
import { type DiscardOptions, discardCapture, exportCapture } from './outbox-salvage.ts';
import { createOutboxStore } from './outbox-store.ts';
import type {
  CommitCaptureInput,
  CommitResult,
  CommittedObject,
  OutboxCapture,
  OutboxCaptureDetail,
  OutboxLastError,
  OutboxSummary,
} from './outbox-types.ts';
import { fsyncDir, removeCaptureDir, writeCaptureDir } from './spool.ts';

export type { StatfsFn };

export interface OutboxHooks {
  /** Test seam used only by the crash harness: runs after the spool dir is durable, before the DB commit. */
  afterFilesWritten?: (info: { captureId: string; dir: string }) => void | Promise<void>;
  /** Test seam for the discard crash test: runs after the row records a discarded capture's files, before they are deleted. */
  beforeDiscardedFilesDeleted?: (info: { captureId: string; dir: string }) => void;
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
  /**
   * The owner's open of a new database re-imports the spool before it returns (outbox-recovery.ts):
   * called before and after each capture, so the service can tell systemd it is making progress.
   */
  onReimportProgress?: ReimportProgress;
}

const DEFAULT_MIN_FREE = 200 * 1024 * 1024;
const sha256Hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

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
  onReimportProgress,
}: CreateOutboxOptions) {
  // Not mkdir's recursive: it spins forever where the kernel refuses the level (a spool_dir under /proc).
  if (access === 'create') makeDirectorySync(spoolDir);
  const { db, created, readOnlyVolume } = openOutboxDb(dbPath, access, statfs);
  const store = createOutboxStore(db);
  const committing = new Set<string>();
  // 'committed' lets an uploader in the same process start at once instead of at its next poll.
  const events = new EventEmitter<{ committed: [{ captureId: string }] }>();
  if (owner) recoverAtOpen({ store, spoolDir, created, now: clock(), log, onReimportProgress });

  const freeBytes = () => {
    const { bavail, bsize } = statfs(spoolDir);
    return Number(bavail) * Number(bsize);
  };

  /**
   * The disk floor. Uploaded captures are kept `retention_days` for convenience only: when a capture
   * would not fit above the floor they are removed, oldest upload first, until it does. Refused only
   * when what is left is the queue (pending, quarantined) or files that are not the outbox's.
   */
  async function makeRoom(neededBytes: number): Promise<void> {
    let free = freeBytes();
    let removed = 0;
    while (free - neededBytes < minFreeBytes) {
      const batch = pickReclaimable(minFreeBytes + neededBytes - free);
      if (batch.length === 0) break;
      // Files first: a crash in between leaves rows without files, never files without a row.
      for (const id of batch) await rm(join(spoolDir, id), { recursive: true, force: true });
      await fsyncDir(spoolDir);
      removed += store.deleteCaptures(batch);
      free = freeBytes();
    }
    if (removed > 0)
      log?.warn({ removed, freeBytes: free }, 'disk floor reached: removed uploaded captures to make room');
    if (free - neededBytes < minFreeBytes)
      throw new DiskFloorError('below_floor', {
        freeBytes: free,
        minFreeBytes,
        neededBytes,
        held: store.held(),
      });
  }

  /** The oldest uploaded captures whose files add up to `bytes` (fewer when there are not enough). */
  function pickReclaimable(bytes: number): string[] {
    const picked: string[] = [];
    let sum = 0;
    for (const { captureId, bytes: size } of store.reclaimable(1000)) {
      if (sum >= bytes) break;
      picked.push(captureId);
      sum += size;
    }
    return picked;
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
    committing.add(captureId);
    try {
      await makeRoom(neededBytes);
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

  // The newest error that could not be written to the database (it was full); see noteError.
  let unrecordedError: OutboxLastError | null = null;

  function summary(): OutboxSummary {
    const s = store.summaryRows();
    const lastError =
      unrecordedError && (s.lastError === null || unrecordedError.at >= s.lastError.at)
        ? unrecordedError
        : s.lastError;
    return {
      pendingCaptures: s.totals.captures,
      pendingBytes: s.totals.bytes,
      oldestPendingAgeMs: s.totals.oldest === null ? null : Math.max(0, clock() - s.totals.oldest),
      lastSuccessAt: s.lastSuccessAt,
      lastError,
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
      discardCapture(
        { store, spoolDir, clock, beforeDeleteFiles: hooks.beforeDiscardedFilesDeleted },
        captureId,
        options,
      ),
    /** Copies a capture's files and record to `{dir}/{captureId}/` (`cti-agent outbox export`). */
    exportCapture: (captureId: string, dir: string) => exportCapture({ store, spoolDir }, captureId, dir),
    prune,
    /**
     * An error the caller could not record in the database (the volume is full): shown as
     * `summary().lastError` until a newer one is recorded; kept in memory only.
     */
    noteError: (error: OutboxLastError): void => {
      unrecordedError = error;
    },
    spoolPath: (captureId: string, name: string) => join(spoolDir, captureId, name),
    spoolDir,
    events,
    /** Internal API for the uploader (same package). */
    store,
    clock,
    /**
     * Set when this (read-only) outbox reads a database on a read-only volume (in place, or a copy of
     * it): what to tell the operator. Null otherwise.
     */
    readOnlyNote: readOnlyVolume?.note ?? null,
    close: (): void => {
      db.close();
      readOnlyVolume?.release();
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
