import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, rmSync, statfsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isValidFileName, META_FILE, rawObjectKey } from '@cti/contracts';
import { makeDirectorySync } from '@cti/runtime';
import type { Logger } from 'pino';
import { type OutboxAccess, openOutboxDb, type StatfsFn, uploadedOnFullDisk } from './outbox-db.ts';
import {
  DiskFloorError,
  DuplicateCaptureError,
  OutboxDiskFullError,
  OutboxInputError,
} from './outbox-errors.ts';
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
import { createSpaceReserve, RESERVE_BYTES, RESERVE_FILE } from './space-reserve.ts';
import { fsyncDir, removeCaptureDir, writeCaptureDir } from './spool.ts';
import { inodesShort, volumeSpace } from './volume-space.ts';

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
  /**
   * A clock that never steps (ms): how long a capture committed by this process has been waiting is
   * measured on it (review r20 F5). Defaults to performance.now, or to `clock` when one is given.
   */
  monotonic?: () => number;
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
  monotonic = clock === Date.now ? () => performance.now() : clock,
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
  // The service's way out of a card filled to the last byte (space-reserve.ts); only the owner keeps one.
  const reserve =
    owner && access === 'create' ? createSpaceReserve(join(dirname(dbPath), RESERVE_FILE), statfs) : null;
  const { db, created, readOnlyVolume } = reserve
    ? openOnFullCard({ dbPath, spoolDir, minFreeBytes, statfs, log })
    : openOutboxDb(dbPath, access, statfs);
  const store = createOutboxStore(db);
  const committing = new Set<string>();
  // 'committed' lets an uploader in the same process start at once instead of at its next poll.
  const events = new EventEmitter<{ committed: [{ captureId: string }] }>();
  if (owner) {
    const recover = () => recoverAtOpen({ store, spoolDir, created, now: clock(), log, onReimportProgress });
    try {
      recover();
    } catch (error) {
      // A re-import on a nearly full card (review r20 F2): it resumes where it stopped.
      if (!(diskFull(error) && reserve?.release())) throw error;
      log?.warn({ err: error }, 'data volume full during the recovery: released the space reserve, resuming');
      recover();
    }
  }
  reserve?.ensure();

  const space = () => volumeSpace(spoolDir, statfs);
  const freeBytes = () => space().freeBytes;

  /**
   * The disk floor. Uploaded captures are kept `retention_days` for convenience only: when free space
   * is under the floor (plus what a capture about to be written needs) they are removed, oldest upload
   * first, until it is not. Files first: a crash in between leaves rows without files, never files
   * without a row; rows that cannot be deleted (the database cannot grow either) stay, without files,
   * until a later pass. Returns the free bytes left.
   */
  let floorTurn: Promise<unknown> = Promise.resolve();
  function applyFloor(neededBytes: number): Promise<number> {
    // One pass at a time: a commit and the uploader's keepFloor would otherwise pick the same captures.
    const pass = floorTurn.then(() => applyFloorNow(neededBytes));
    floorTurn = pass.catch(() => {});
    return pass;
  }

  async function applyFloorNow(neededBytes: number): Promise<number> {
    let free = freeBytes();
    let removed = 0;
    const gone = new Set<string>(); // files removed whose rows could not be deleted
    // Out of inodes (review r20 F7), uploaded captures go too: each gives back its directory and files.
    while (free - neededBytes < minFreeBytes || inodesShort(space())) {
      const batch = pickReclaimable(Math.max(1, minFreeBytes + neededBytes - free), gone);
      if (batch.length === 0) break;
      for (const id of batch) await rm(join(spoolDir, id), { recursive: true, force: true });
      await fsyncDir(spoolDir);
      try {
        removed += store.deleteCaptures(batch);
      } catch (error) {
        if (!diskFull(error)) throw error;
        for (const id of batch) gone.add(id);
        removed += batch.length;
      }
      free = freeBytes();
    }
    if (removed > 0)
      log?.warn({ removed, freeBytes: free }, 'disk floor reached: removed uploaded captures to make room');
    return free;
  }

  /** Refuses a capture that would not fit above the floor even after applyFloor. */
  async function makeRoom(neededBytes: number): Promise<void> {
    const free = await applyFloor(neededBytes);
    const left = space();
    if (free - neededBytes < minFreeBytes || inodesShort(left))
      throw new DiskFloorError('below_floor', {
        freeBytes: free,
        freeInodes: left.freeInodes,
        minFreeBytes,
        neededBytes,
        held: store.held(),
        volume: spoolDir,
      });
  }

  /** The oldest uploaded captures whose files add up to `bytes` (fewer when there are not enough). */
  function pickReclaimable(bytes: number, skip: ReadonlySet<string> = new Set()): string[] {
    const picked: string[] = [];
    let sum = 0;
    for (const { captureId, bytes: size } of store.reclaimable(1000 + skip.size)) {
      if (sum >= bytes) break;
      if (skip.has(captureId)) continue;
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
      throw new DiskFloorError('disk_full', { ...space(), minFreeBytes, neededBytes, volume: spoolDir });
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
        throw new DiskFloorError('disk_full', { ...space(), minFreeBytes, neededBytes, volume: spoolDir });
      }
      committedAtMono.set(captureId, monotonic());
      log?.debug({ captureId, bytes: neededBytes }, 'capture committed to outbox');
      events.emit('committed', { captureId });
      return { captureId, objects, fsyncs: fsyncs + 1 };
    } finally {
      committing.delete(captureId);
    }
  }

  /**
   * After each uploaded capture (the uploader calls it): the space reserve is made again once there
   * is room, and the disk floor applies here too, so the captures just uploaded leave a card that
   * something else filled. Never throws: the upload is recorded whatever happens here.
   */
  async function keepFloor(): Promise<void> {
    reserve?.ensure(); // first: the floor then counts it as used space
    try {
      await applyFloor(0);
    } catch (error) {
      log?.warn({ err: error }, 'disk floor after an upload failed');
    }
  }

  /**
   * The database could not be written because the volume is full (SQLITE_FULL, SQLITE_IOERR): the
   * floor removes uploaded captures' files; then the WAL is checkpointed and truncated, which needs a
   * few free pages — when there are none the space reserve is released first. The uploader calls this
   * before it backs off, so the next attempt finds room. Says what it did.
   */
  async function relieveFullDisk(): Promise<{
    freedFloor: boolean;
    releasedReserve: boolean;
    checkpointed: boolean;
  }> {
    const before = freeBytes();
    let freedFloor = false;
    try {
      freedFloor = (await applyFloor(0)) > before;
    } catch (error) {
      log?.warn({ err: error }, 'disk floor on a full volume failed');
    }
    let checkpointed = checkpoint();
    let releasedReserve = false;
    // A checkpoint of an empty WAL succeeds and frees nothing: what counts is the room left.
    if ((!checkpointed || freeBytes() < RESERVE_BYTES) && reserve?.release()) {
      releasedReserve = true;
      checkpointed = checkpoint();
    }
    // A warning when it freed something; otherwise the uploader's backoff line (once per period) says it.
    const done = { freedFloor, releasedReserve, checkpointed, freeBytes: freeBytes() };
    if (freedFloor || releasedReserve) log?.warn(done, 'outbox database full: made room for it');
    else log?.debug(done, 'outbox database full: nothing left to free');
    return { freedFloor, releasedReserve, checkpointed };
  }

  /** wal_checkpoint(TRUNCATE): true when the whole WAL was written back and the file emptied. */
  function checkpoint(): boolean {
    try {
      const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      return row?.busy === 0;
    } catch {
      return false;
    }
  }

  // When each capture this process committed was committed, on the monotonic clock, in commit order.
  const committedAtMono = new Map<string, number>();

  /**
   * How long the oldest pending capture has waited. Wall-clock `committed_at` jumps with the clock:
   * NTP stepping a late Pi forward made a capture taken seconds ago wait for days (a backlog episode
   * on the server; review r20 F5), and a step back hid a real backlog. Measured on the monotonic
   * clock for a capture this process committed, on the wall clock for older ones only.
   */
  function oldestPendingAge(oldestId: string | null, oldestAt: number | null): number | null {
    if (oldestId === null || oldestAt === null) return null;
    const mono = committedAtMono.get(oldestId);
    if (mono === undefined) return Math.max(0, clock() - oldestAt);
    // Captures committed before the oldest pending one are no longer waiting: forget them.
    for (const id of committedAtMono.keys()) {
      if (id === oldestId) break;
      committedAtMono.delete(id);
    }
    return Math.max(0, monotonic() - mono);
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
      oldestPendingAgeMs: oldestPendingAge(s.totals.oldestId, s.totals.oldest),
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
    keepFloor,
    relieveFullDisk,
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

/** The database could not be written for want of space (what relieveFullDisk is for). */
export function diskFull(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR'));
}

export interface FreeAtStartOptions {
  dbPath: string;
  spoolDir: string;
  minFreeBytes?: number;
  statfs?: StatfsFn;
  log?: Logger;
}

/**
 * A start on a volume too full to open the outbox (or take its lock) frees what the agent may free
 * (review r20 F1, F3): the floor rule — uploaded captures' spool files, oldest upload first, until
 * the floor (at least 1 MB) is free again; their rows stay, without files, which every reader
 * tolerates — then the space reserve. The uploaded list is read through the full-disk reader, whose
 * exclusive lock also proves no other process has the database open. Returns what it did.
 */
export function freeSpaceAtStart({
  dbPath,
  spoolDir,
  minFreeBytes = DEFAULT_MIN_FREE,
  statfs = statfsSync,
  log,
}: FreeAtStartOptions): { removedUploaded: number; releasedReserve: boolean } {
  const freeBytes = () => {
    const { bavail, bsize } = statfs(dirname(dbPath));
    return Number(bavail) * Number(bsize);
  };
  // At least room for the database and a reserve, whatever the floor (min_free_mb may be 0).
  const wanted = Math.max(minFreeBytes, 2 * RESERVE_BYTES);
  let removedUploaded = 0;
  for (const id of existsSync(dbPath) ? (uploadedOnFullDisk(dbPath) ?? []) : []) {
    if (freeBytes() >= wanted) break;
    const dir = join(spoolDir, id);
    if (!existsSync(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
    removedUploaded++;
  }
  const releasedReserve = createSpaceReserve(join(dirname(dbPath), RESERVE_FILE), statfs).release();
  if (removedUploaded > 0 || releasedReserve)
    log?.warn(
      { removedUploaded, releasedReserve, freeBytes: freeBytes() },
      'data volume full at start: removed what the agent may remove (uploaded captures, the space reserve)',
    );
  return { removedUploaded, releasedReserve };
}

/** The owner's open: on a full volume, freeSpaceAtStart and one more try before OutboxDiskFullError. */
function openOnFullCard(options: Required<Omit<FreeAtStartOptions, 'log'>> & { log?: Logger }) {
  try {
    return openOutboxDb(options.dbPath, 'create', options.statfs);
  } catch (error) {
    if (!(error instanceof OutboxDiskFullError)) throw error;
    const freed = freeSpaceAtStart(options);
    if (freed.removedUploaded === 0 && !freed.releasedReserve) throw error;
    return openOutboxDb(options.dbPath, 'create', options.statfs);
  }
}
