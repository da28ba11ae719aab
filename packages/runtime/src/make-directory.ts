import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes `path` with a plain mkdir: undefined when made or already a directory, 'ENOENT' when a parent is missing. */
async function mkdirOne(path: string): Promise<'ENOENT' | undefined> {
  try {
    await mkdir(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'ENOENT';
    // Already there (or made meanwhile by another process): fine if it is a directory. A file there
    // keeps mkdir's own EEXIST, which names the path.
    if (code !== 'EEXIST' || !(await stat(path)).isDirectory()) throw err;
  }
  return undefined;
}

/**
 * `mkdir -p` that fails fast. Node's `mkdir(path, { recursive: true })` (24.x) never settles, spinning,
 * where the kernel answers ENOENT for a directory whose parent exists — anywhere under /proc: an
 * operator's `--out /proc/x` hung the command. This makes each missing level with a plain mkdir, and a
 * level that still cannot be made once its parent exists is mkdir's ENOENT (with `path`), thrown.
 *
 * @example
 * await makeDirectory('labels/2025-09'); // made, with its parents; a directory already there is fine
 * await makeDirectory('/proc/x');        // rejects at once: ENOENT: no such file or directory, mkdir '/proc/x'
 */
export async function makeDirectory(path: string): Promise<void> {
  if ((await mkdirOne(path)) === undefined) return;
  const parent = dirname(path);
  if (parent !== path) await makeDirectory(parent);
  if ((await mkdirOne(path)) === 'ENOENT') await mkdir(path); // throws the ENOENT, naming `path`
}

/** makeDirectory for start-up code that cannot await (the agent's spool directory): the same steps, synchronous. */
export function makeDirectorySync(path: string): void {
  if (mkdirOneSync(path) === undefined) return;
  const parent = dirname(path);
  if (parent !== path) makeDirectorySync(parent);
  if (mkdirOneSync(path) === 'ENOENT') mkdirSync(path); // throws the ENOENT, naming `path`
}

function mkdirOneSync(path: string): 'ENOENT' | undefined {
  try {
    mkdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'ENOENT';
    if (code !== 'EEXIST' || !statSync(path).isDirectory()) throw err;
  }
  return undefined;
}
