import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { makeDirectory } from '@cti/runtime';

/**
 * Where slow artifacts (Node for arm64, cross-compiled addons, the arm64 Debian root) are kept between
 * runs: `$CTI_CACHE_DIR`, default `~/.cache/cti-agent-deb`. Every entry's name carries a hash of what
 * determines it, so a changed input makes a new entry and a stale one is never reused.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CTI_CACHE_DIR ?? join(homedir(), '.cache', 'cti-agent-deb');
}

/** A short hex key over the given parts (order matters). */
export function cacheKey(parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(String(typeof part === 'string' ? part.length : part.byteLength));
    hash.update(':');
    hash.update(part);
  }
  return hash.digest('hex').slice(0, 16);
}

/** sha256 over every file below `dir` (relative path + bytes, in sorted order), skipping `exclude`d names. */
export async function hashTree(dir: string, exclude: Set<string> = new Set()): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (current: string): Promise<void> => {
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const entry of entries) {
      if (exclude.has(entry.name)) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        hash.update(`${relative(dir, path)}\0`);
        hash.update(await readFile(path));
      }
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

/**
 * Returns `path`, producing it first when absent: `produce` writes into a temporary sibling that is
 * renamed into place only when it succeeded, so an interrupted run never leaves a half entry.
 */
export async function cached(path: string, produce: (tmpPath: string) => Promise<void>): Promise<string> {
  if (existsSync(path)) return path;
  await makeDirectory(dirname(path)); // CTI_CACHE_DIR is the operator's: fail fast where it cannot be
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await produce(tmp);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    // Another run produced the same entry meanwhile (a directory cannot be renamed over): use theirs.
    if (existsSync(path)) return path;
    throw error;
  }
  return path;
}
