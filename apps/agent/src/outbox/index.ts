// The outbox's public surface for the rest of the agent (capture pipeline, CLI, status).
export {
  type CreateOutboxOptions,
  createOutbox,
  type FreeAtStartOptions,
  freeSpaceAtStart,
  type Outbox,
  type OutboxHooks,
  type StatfsFn,
} from './outbox.ts';
export { type OutboxCommandIo, outboxUsage, runOutboxCommand } from './outbox-command.ts';
export { type OutboxAccess, requireOutboxFile } from './outbox-db.ts';
export {
  DiskFloorError,
  type DiskFloorReason,
  DuplicateCaptureError,
  discardedFilesHold,
  OutboxCorruptError,
  OutboxDbError,
  OutboxDiskFullError,
  OutboxInputError,
  OutboxMissingError,
} from './outbox-errors.ts';
export {
  type DiscardOptions,
  discardedOnDisk,
  type ExportedFile,
  OutboxSalvageError,
} from './outbox-salvage.ts';
export type * from './outbox-types.ts';
