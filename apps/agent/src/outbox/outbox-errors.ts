/** Why the disk guard refused a capture: below the configured floor, or the disk filled mid-write. */
export type DiskFloorReason = 'below_floor' | 'disk_full';

/**
 * Thrown by `commitCapture` when accepting the capture would push free space on the spool volume
 * below `minFreeBytes` (or the disk actually filled while writing). Nothing was written: the caller
 * signals "refused" (status, log, LED) instead of failing half-way.
 */
export class DiskFloorError extends Error {
  readonly reason: DiskFloorReason;
  readonly freeBytes: number;
  readonly minFreeBytes: number;
  readonly neededBytes: number;

  constructor(
    reason: DiskFloorReason,
    info: { freeBytes: number; minFreeBytes: number; neededBytes: number },
  ) {
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    super(
      reason === 'disk_full'
        ? `capture refused: the spool disk filled up while writing (${mb(info.freeBytes)} free)`
        : `capture refused: ${mb(info.freeBytes)} free on the spool disk, the floor is ${mb(info.minFreeBytes)} ` +
            `and this capture needs ${mb(info.neededBytes)}; free space (let uploads drain) or lower outbox.min_free_mb in the agent config`,
    );
    this.name = 'DiskFloorError';
    this.reason = reason;
    this.freeBytes = info.freeBytes;
    this.minFreeBytes = info.minFreeBytes;
    this.neededBytes = info.neededBytes;
  }
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
 * The outbox database cannot be opened or is not this agent's (not SQLite, corrupt, unreadable, another
 * schema version). Its message names the file and what to do, so the CLI and the service print it
 * instead of a stack trace.
 */
export class OutboxDbError extends Error {
  constructor(dbPath: string, problem: string, cause?: unknown) {
    super(
      `outbox database ${dbPath} ${problem}. Fix: restore it, or move it aside (the agent then starts an empty ` +
        'outbox; captures it listed stay in the spool directory but are no longer uploaded)',
      { cause },
    );
    this.name = 'OutboxDbError';
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
