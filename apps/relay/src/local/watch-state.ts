import { constants } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirectory } from '@cti/runtime';

/** A meta.json the watcher is done with (delivered, ignored or permanently rejected). */
export interface SettledEntry {
  etag: string;
  lastModified: string;
  outcome: 'delivered' | 'ignored' | 'rejected';
  reason?: string;
  at: string;
}

/** A meta.json that will be tried again (incomplete capture or transient failure). */
export interface PendingEntry {
  etag: string;
  lastModified: string;
  attempts: number;
  /** Local epoch ms before which it is not retried. */
  nextAttemptAt: number;
  last: string;
}

/**
 * The watcher's persisted cursor. `watermark` is the newest LastModified seen by a completed poll;
 * keys older than watermark − grace are assumed settled and are not kept in `settled` (rejections
 * excepted: they are the local dead letters), so the file
 * stays small while a meta.json that shows up late (or out of lexical order) is still noticed.
 */
export interface WatchState {
  version: 1;
  bucket: string;
  prefix: string;
  watermark: string | null;
  settled: Record<string, SettledEntry>;
  pending: Record<string, PendingEntry>;
}

export function emptyState(bucket: string, prefix: string): WatchState {
  return { version: 1, bucket, prefix, watermark: null, settled: {}, pending: {} };
}

/** The state file cannot be used (unreadable, not JSON, not a state, another bucket): the message says which and why. */
export class StateFileError extends Error {}

/** Read the state file; a missing file is a fresh start, a file for another bucket is an error. */
export async function loadState(file: string, bucket: string, prefix: string): Promise<WatchState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(bucket, prefix);
    throw new StateFileError(
      `state file ${file} (CTI_RELAY_STATE_FILE) cannot be read: ${(error as Error).message}`,
    );
  }
  let state: WatchState;
  try {
    state = JSON.parse(text) as WatchState;
  } catch (error) {
    throw new StateFileError(
      `state file ${file} (CTI_RELAY_STATE_FILE) is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (
    typeof state !== 'object' ||
    state === null ||
    state.version !== 1 ||
    typeof state.settled !== 'object' ||
    state.settled === null ||
    typeof state.pending !== 'object' ||
    state.pending === null
  ) {
    throw new StateFileError(`state file ${file} (CTI_RELAY_STATE_FILE) is not a version 1 relay state`);
  }
  if (state.bucket !== bucket || state.prefix !== prefix) {
    throw new StateFileError(
      `state file ${file} belongs to s3://${state.bucket}/${state.prefix}, not s3://${bucket}/${prefix}; use another CTI_RELAY_STATE_FILE`,
    );
  }
  return state;
}

/**
 * Write atomically (temp file fsynced, rename, directory fsynced) so neither a crash nor a power cut
 * leaves a torn or empty cursor: without the fsyncs the rename can reach the disk before the data, and
 * the next start refused the empty file as "not valid JSON".
 */
export async function saveState(file: string, state: WatchState): Promise<void> {
  await makeDirectory(dirname(file));
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(`${JSON.stringify(state, null, 1)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  const dir = await open(dirname(file), constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
