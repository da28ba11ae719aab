import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeDirectory, writeFileAtomically } from '@cti/runtime';
import type { RelayOutcome } from '../relay-core.ts';

/**
 * Keeps a notification record the server rejected for good (re-sending cannot help, so the store is
 * told 200) as one file in `dir`, shaped like a Lambda on-failure message: `cti-relay replay FILE`
 * re-runs it once the cause is fixed (e.g. a secret). Written aside and renamed: never half a file.
 */
export async function writeDeadLetter(
  dir: string,
  record: unknown,
  outcome: RelayOutcome,
  now: Date,
): Promise<string> {
  await makeDirectory(dir);
  const name = `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.json`;
  const file = join(dir, name);
  const body = { requestPayload: { Records: [record] }, responsePayload: { outcome } };
  await writeFileAtomically(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
