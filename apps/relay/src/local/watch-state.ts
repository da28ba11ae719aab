import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

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

/** Read the state file; a missing file is a fresh start, a file for another bucket is an error. */
export async function loadState(file: string, bucket: string, prefix: string): Promise<WatchState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState(bucket, prefix);
    throw error;
  }
  let state: WatchState;
  try {
    state = JSON.parse(text) as WatchState;
  } catch (error) {
    throw new Error(
      `state file ${file} (CTI_RELAY_STATE_FILE) is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (state.version !== 1 || typeof state.settled !== 'object' || typeof state.pending !== 'object') {
    throw new Error(`state file ${file} (CTI_RELAY_STATE_FILE) is not a version 1 relay state`);
  }
  if (state.bucket !== bucket || state.prefix !== prefix) {
    throw new Error(
      `state file ${file} belongs to s3://${state.bucket}/${state.prefix}, not s3://${bucket}/${prefix}; use another CTI_RELAY_STATE_FILE`,
    );
  }
  return state;
}

/** Write atomically (temp file + rename) so a crash never leaves a torn cursor. */
export async function saveState(file: string, state: WatchState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 1)}\n`);
  await rename(temp, file);
}
