import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { makeDirectory, writeFileAtomically } from '@cti/runtime';
import type { RelayOutcome } from '../relay-core.ts';

/** What names one dead letter: a re-sent notification of the same object version maps to the same file. */
export interface DeadLetterId {
  bucket: string;
  key: string;
  /** meta.json's ETag from the record (a rewritten meta.json is another letter); '' when absent. */
  etag: string;
}

/**
 * `<bucket>_<key with / and unsafe characters as _>-<16 hex of sha256(bucket, key, etag)>.json`:
 * readable in `ls`, and deterministic, so a store re-sending a notification (review r21 F7: one new
 * file per round) overwrites its letter instead of adding one.
 */
export function deadLetterName({ bucket, key, etag }: DeadLetterId): string {
  const hash = createHash('sha256').update(`${bucket}\n${key}\n${etag}`).digest('hex').slice(0, 16);
  const readable = `${bucket}_${key}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 160);
  return `${readable}-${hash}.json`;
}

/**
 * Keeps a notification record the store must not re-send (rejected for good, or incomplete for longer
 * than `CTI_RELAY_INCOMPLETE_MAX_AGE_S`; the store is told 200) as one file in `dir`, shaped like a
 * Lambda on-failure message: `cti-relay replay FILE` re-runs it once the cause is fixed (a secret, the
 * missing file uploaded). Written aside and renamed: never half a file.
 */
export async function writeDeadLetter(
  dir: string,
  id: DeadLetterId,
  record: unknown,
  outcome: RelayOutcome,
  now: Date,
): Promise<string> {
  await makeDirectory(dir);
  const file = join(dir, deadLetterName(id));
  const body = { requestPayload: { Records: [record] }, responsePayload: { outcome, at: now.toISOString() } };
  await writeFileAtomically(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
