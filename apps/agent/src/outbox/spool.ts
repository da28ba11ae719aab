import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Prefix of a capture directory still being written; never a valid capture id, so never confused. */
export const TEMP_PREFIX = '.tmp-';

/** fsync a directory so a rename or new entry inside it is durable, not just the file data. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(path: string, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface SpoolFile {
  name: string;
  data: Uint8Array;
}

/**
 * Writes a capture's files so that they appear all at once or not at all: into a temp directory,
 * each file fsynced, the temp directory fsynced, one rename to `spoolDir/{captureId}`, then the
 * spool directory fsynced so the rename itself survives a power cut. On any failure the temp
 * directory is removed and the error rethrown. Returns the number of fsync calls made.
 */
export async function writeCaptureDir(
  spoolDir: string,
  captureId: string,
  files: SpoolFile[],
): Promise<number> {
  const temp = join(spoolDir, `${TEMP_PREFIX}${captureId}-${randomBytes(4).toString('hex')}`);
  await mkdir(temp);
  try {
    // Written and fsynced in parallel (libuv threads): the commit waits for the slowest, not the sum.
    const written = await Promise.allSettled(
      files.map((file) => writeDurably(join(temp, file.name), file.data)),
    );
    const failure = written.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    await fsyncDir(temp);
    await rename(temp, join(spoolDir, captureId));
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  await fsyncDir(spoolDir);
  return files.length + 2;
}

/** Removes a capture directory and makes the removal durable. */
export async function removeCaptureDir(spoolDir: string, captureId: string): Promise<void> {
  await rm(join(spoolDir, captureId), { recursive: true, force: true });
  await fsyncDir(spoolDir);
}
