import type { OutboxHeld } from './outbox-types.ts';
import { describeFree, freeInodesFix, inodesShort } from './volume-space.ts';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Why the disk guard refused a capture: below the configured floor, or the disk filled mid-write. */
export type DiskFloorReason = 'below_floor' | 'disk_full';

/**
 * Thrown by `commitCapture` when accepting the capture would push free space on the spool volume
 * below `minFreeBytes` even after removing every capture already uploaded (or the disk actually
 * filled while writing). Nothing was written: the caller signals "refused" (status, log, LED) instead
 * of failing half-way. The message says what holds the space: the captures waiting to upload (or
 * quarantined), or files that are not the outbox's.
 */
export class DiskFloorError extends Error {
  readonly reason: DiskFloorReason;
  readonly freeBytes: number;
  readonly minFreeBytes: number;
  readonly neededBytes: number;
  readonly held: OutboxHeld | null;
  /** Free inodes on the spool volume, null where the file system does not count them. */
  readonly freeInodes: number | null;

  constructor(
    reason: DiskFloorReason,
    info: {
      freeBytes: number;
      minFreeBytes: number;
      neededBytes: number;
      held?: OutboxHeld;
      freeInodes?: number | null;
      /** The spool directory, named in the inode fix. */
      volume?: string;
    },
  ) {
    const space = { freeBytes: info.freeBytes, freeInodes: info.freeInodes ?? null };
    super(
      inodesShort(space)
        ? `capture refused: the spool disk has ${describeFree(space)}. Fix: ${freeInodesFix(info.volume ?? 'the data volume')}`
        : reason === 'disk_full'
          ? `capture refused: the spool disk filled up while writing (${mb(info.freeBytes)} free)`
          : `capture refused: ${mb(info.freeBytes)} free on the spool disk, the floor is ${mb(info.minFreeBytes)} ` +
            `and this capture needs ${mb(info.neededBytes)}; ${whatHoldsTheSpace(info)}`,
    );
    this.freeInodes = space.freeInodes;
    this.name = 'DiskFloorError';
    this.reason = reason;
    this.freeBytes = info.freeBytes;
    this.minFreeBytes = info.minFreeBytes;
    this.neededBytes = info.neededBytes;
    this.held = info.held ?? null;
  }
}

/**
 * What the files of captures given up (`cti-agent outbox discard`, kept in `spool/discarded/`) hold,
 * and that deleting them frees it: the disk floor's refusal and doctor's disk check say it alike.
 * `where` is that directory as the reader should find it (the full path, where known).
 */
export function discardedFilesHold(count: number, bytes: number, where = 'spool/discarded'): string {
  return (
    `${captures(count)} given up still ${holds(count)} ${mb(bytes)} in ${where} ` +
    `(safe to delete once salvaged: \`cti-agent outbox list --state discarded\`, export what you need, then \`rm -r ${where}/<capture_id>\`)`
  );
}

const captures = (n: number) => `${n} capture${n === 1 ? '' : 's'}`;
const holds = (n: number) => (n === 1 ? 'holds' : 'hold');

function whatHoldsTheSpace(info: {
  freeBytes: number;
  minFreeBytes: number;
  neededBytes: number;
  held?: OutboxHeld;
}): string {
  const lower = 'or lower outbox.min_free_mb in the agent config';
  const held = info.held;
  if (!held) return `free space, ${lower}`;
  const deficit = info.minFreeBytes + info.neededBytes - info.freeBytes;
  const queued = held.pendingCaptures + held.quarantinedCaptures + held.discardedCaptures;
  const heldBytes = held.pendingBytes + held.quarantinedBytes + held.discardedBytes;
  if (queued > 0 && heldBytes >= deficit) {
    const parts = [];
    if (held.pendingCaptures > 0)
      parts.push(
        `${captures(held.pendingCaptures)} waiting to upload ${holds(held.pendingCaptures)} ${mb(held.pendingBytes)} ` +
          '(they leave as uploads drain: check the network and `cti-agent status`)',
      );
    if (held.quarantinedCaptures > 0)
      parts.push(
        `${captures(held.quarantinedCaptures)} quarantined ${holds(held.quarantinedCaptures)} ${mb(held.quarantinedBytes)} ` +
          '(`cti-agent outbox quarantine`)',
      );
    if (held.discardedCaptures > 0)
      parts.push(discardedFilesHold(held.discardedCaptures, held.discardedBytes));
    return `${parts.join('; ')}; ${lower}`;
  }
  const outbox =
    queued > 0
      ? ` (the outbox's ${captures(queued)} not uploaded hold only ${mb(heldBytes)})`
      : ' (the outbox holds no capture it could remove)';
  return `other files fill the disk${outbox}: free space on it, ${lower}`;
}

/** Thrown by `commitCapture` when the capture id is already in the outbox (committed earlier). */
export class DuplicateCaptureError extends Error {
  readonly captureId: string;

  constructor(captureId: string) {
    super(`capture ${captureId} is already in the outbox`);
    this.name = 'DuplicateCaptureError';
    this.captureId = captureId;
  }
}

/** Thrown for a capture the outbox cannot accept as given (no meta.json, duplicate file names, …). */
export class OutboxInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxInputError';
  }
}

/**
 * The outbox database cannot be opened or is not this agent's (unreadable, another schema version).
 * Its message names the file and the fix, so the CLI and the service print it instead of a stack
 * trace. The two cases that need opposite advice have their own classes: OutboxCorruptError (the file
 * is damaged: move it aside) and OutboxDiskFullError (nothing is wrong with it: never move it).
 */
export class OutboxDbError extends Error {
  readonly dbPath: string;

  constructor(
    dbPath: string,
    problem: string,
    {
      cause,
      fix = "check that the agent's user (cti) can read and write the file and its directory, and that the " +
        'data volume is mounted read-write; do not move the file aside: it holds the upload queue',
    }: { cause?: unknown; fix?: string } = {},
  ) {
    super(`outbox database ${dbPath} ${problem}. Fix: ${fix}`, { cause });
    this.name = 'OutboxDbError';
    this.dbPath = dbPath;
  }
}

/**
 * The database file is damaged (SQLITE_NOTADB, SQLITE_CORRUPT): the one case where moving it aside is
 * right. A new database made at the next start re-imports the complete captures it finds in the spool
 * directory (outbox-recovery.ts), so the queue is rebuilt from the files, not lost.
 */
export class OutboxCorruptError extends OutboxDbError {
  /** `fix` replaces the usual one where moving the file is not possible (a read-only card). */
  constructor(dbPath: string, problem: string, { cause, fix }: { cause?: unknown; fix?: string } = {}) {
    super(dbPath, problem, {
      cause,
      fix:
        fix ??
        `restore it from a backup, or move it aside (mv ${dbPath} ${dbPath}.damaged): the agent then starts a ` +
          'new outbox and re-imports the complete captures in the spool directory, which are checked against ' +
          'the store before sending, so none is stored twice',
    });
    this.name = 'OutboxCorruptError';
  }
}

/**
 * The outbox database cannot be opened or written because its volume is full (SQLITE_FULL, or an
 * I/O error with no space left: SQLite cannot even make the `-shm` file a WAL database needs). The
 * database is fine: moving it aside would drop every capture waiting to upload from the queue.
 */
export class OutboxDiskFullError extends OutboxDbError {
  readonly freeBytes: number;
  /** Captures waiting to upload that the database holds, null when they could not be counted. */
  readonly pendingCaptures: number | null;

  constructor(
    dbPath: string,
    info: {
      volume: string;
      freeBytes: number;
      /** Free inodes, null (or absent) where the file system does not count them. */
      freeInodes?: number | null;
      pendingCaptures: number | null;
      /** 'written': the database opened, then a write (the service's start-up) failed. */
      failed?: 'opened' | 'written';
    },
    cause?: unknown,
  ) {
    const held =
      info.pendingCaptures === null
        ? 'the captures waiting to upload'
        : `${info.pendingCaptures} capture${info.pendingCaptures === 1 ? '' : 's'} waiting to upload`;
    const space = { freeBytes: info.freeBytes, freeInodes: info.freeInodes ?? null };
    super(
      dbPath,
      `cannot be ${info.failed ?? 'opened'}: the data volume is full (${describeFree(space)} on ${info.volume}). ` +
        `It holds ${held}: do NOT move or delete it or the spool directory, or they are no longer uploaded`,
      {
        cause,
        fix: `${
          inodesShort(space)
            ? freeInodesFix(info.volume)
            : `free space on that volume (\`df -h ${info.volume}\`; e.g. \`sudo journalctl --vacuum-size=50M\`, ` +
              "`sudo apt-get clean`, files that are not the agent's)"
        }, then \`sudo systemctl restart cti-agent\``,
      },
    );
    this.name = 'OutboxDiskFullError';
    this.freeBytes = info.freeBytes;
    this.pendingCaptures = info.pendingCaptures;
  }
}

/**
 * A process that only uses an existing outbox (the CLI, offline `status`) found no database at
 * `dbPath`. Nothing was created: a typo in the data directory must not show an empty outbox.
 */
export class OutboxMissingError extends Error {
  readonly dbPath: string;

  constructor(dbPath: string) {
    super(`outbox database ${dbPath} does not exist; nothing was created`);
    this.name = 'OutboxMissingError';
    this.dbPath = dbPath;
  }
}
