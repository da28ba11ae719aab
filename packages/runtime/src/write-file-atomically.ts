import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Writes `path` so that a reader (or a process killed mid-write) never sees it half-written: a
 * temporary file beside it (`<path>.tmp-<pid>`), then a rename over it; the temporary file is removed
 * when the write fails. No fsync: for files that must also survive a power cut, sync before renaming.
 *
 * @example await writeFileAtomically('/run/cti/agent-http.json', JSON.stringify({ port }));
 */
export async function writeFileAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
