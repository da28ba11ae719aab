import { statfsSync } from 'node:fs';
import { DISK_INODES_SHORT } from '@cti/contracts';

/** Free bytes for this user and free inodes on the volume holding `path` (fs.statfs by default). */
export type StatfsFn = (path: string) => {
  bavail: number | bigint;
  bsize: number | bigint;
  ffree?: number | bigint;
  files?: number | bigint;
};

/**
 * Free inodes under which a volume counts as out of them: a capture takes a handful (its directory,
 * a temporary one, its files), and SQLite's `-wal`/`-shm` and the runtime file one each. The
 * contract's figure: the server's fleet page reads the heartbeat's `disk.free_inodes` against it.
 */
export const INODE_MARGIN = DISK_INODES_SHORT;

/** What is left on a volume: bytes, and inodes (null on file systems that do not count them: btrfs, vfat). */
export interface VolumeSpace {
  freeBytes: number;
  freeInodes: number | null;
}

export function volumeSpace(path: string, statfs: StatfsFn = statfsSync): VolumeSpace {
  const s = statfs(path);
  const counted = s.files !== undefined && Number(s.files) > 0 && s.ffree !== undefined;
  return { freeBytes: Number(s.bavail) * Number(s.bsize), freeInodes: counted ? Number(s.ffree) : null };
}

/**
 * The volume is out of inodes (review r20 F7): a card full of small files (a console export folder,
 * runaway logs) refuses new files with ENOSPC while `df -h` shows megabytes free.
 */
export const inodesShort = (space: VolumeSpace): boolean =>
  space.freeInodes !== null && space.freeInodes < INODE_MARGIN;

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** "3.2 MB free", or, when inodes are what ran out, "no free inodes (2 left, 10.9 MB free)". */
export function describeFree(space: VolumeSpace): string {
  return inodesShort(space)
    ? `no free inodes (${space.freeInodes} left, ${mb(space.freeBytes)} free)`
    : `${mb(space.freeBytes)} free`;
}

/** The fix for a volume out of inodes: `df -h` shows room, `df -i` the cause. */
export function freeInodesFix(volume: string): string {
  return (
    `free inodes on that volume (\`df -i ${volume}\`: it is full of small files while \`df -h\` shows room; ` +
    "e.g. a console export folder or runaway logs on the same card — remove files that are not the agent's)"
  );
}
