import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Why a real small volume cannot be mounted here (not root, no mount permission), or false when it
 * can: pass it as a test's `skip`. CI runs as root on a fresh machine, so there it runs.
 */
export const tmpfsSkip: string | false = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-tmpfs-probe-'));
  try {
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (mount.status !== 0) return `needs a tmpfs mount (root): ${mount.stderr.trim() || mount.error}`;
    spawnSync('umount', [dir]);
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

export interface SmallVolume {
  dir: string;
  /** Bytes this user may still write there. */
  free(): number;
  /** Fills the volume to the last byte with files `filler-*`; returns their paths. */
  fill(): string[];
  /** Uses inodes with empty files `inode-*` until `leave` are free (a card full of small files). */
  fillInodes(leave: number): void;
  /** Remounts it read-only, as the kernel does to a failing card (EROFS from then on). */
  readOnly(): void;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `size` (e.g. '2m'), and at most `inodes` files, on a fresh directory under the
 * temp dir: a real disk that fills up, with ENOSPC from the kernel. `unmount()` (in `after`) detaches and removes it.
 */
export function mountSmallVolume(size: string, { inodes }: { inodes?: number } = {}): SmallVolume {
  const dir = mkdtempSync(join(tmpdir(), 'cti-small-volume-'));
  const options = inodes === undefined ? `size=${size}` : `size=${size},nr_inodes=${inodes}`;
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  const free = () => {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  };
  let fillers = 0;
  return {
    dir,
    free,
    fill() {
      const paths: string[] = [];
      // The first write takes what statfs reports; the small ones take what rounding left.
      for (const size of [free(), 4096, 512]) {
        const path = join(dir, `filler-${fillers++}`);
        try {
          writeFileSync(path, Buffer.alloc(size));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        }
        paths.push(path);
      }
      if (free() !== 0) throw new Error(`the volume still has ${free()} bytes free`);
      return paths;
    },
    fillInodes(leave) {
      let n = 0;
      while (Number(statfsSync(dir).ffree) > leave) writeFileSync(join(dir, `inode-${n++}`), '');
    },
    readOnly() {
      execFileSync('mount', ['-o', 'remount,ro', dir]);
    },
    unmount() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
