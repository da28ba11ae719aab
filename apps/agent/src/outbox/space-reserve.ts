import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StatfsFn } from './outbox-db.ts';

/** Name of the reserve file beside `outbox.db` (docs/agent-outbox.md § The SD card is full). */
export const RESERVE_FILE = 'outbox.reserve';
/** What the reserve holds: room for SQLite to checkpoint the WAL and grow the database a little. */
export const RESERVE_BYTES = 512 * 1024;

export interface SpaceReserve {
  /** Makes the reserve file when it is missing and the volume keeps as much again free; true if present. */
  ensure(): boolean;
  /** Deletes the reserve file (its bytes become free for SQLite); true when there was one. */
  release(): boolean;
}

/**
 * A file of zeros held in the data directory so that a volume some other writer filled to the last
 * byte still leaves the outbox a way out (review r20 F1): SQLite needs free pages to checkpoint its
 * WAL, and a database that cannot checkpoint cannot record an upload, so nothing would ever free the
 * space. On SQLITE_FULL the outbox releases it, checkpoints, and makes it again once space allows.
 * It is never made when it would take the last free space (`ensure` wants twice its size free).
 */
export function createSpaceReserve(path: string, statfs: StatfsFn, bytes = RESERVE_BYTES): SpaceReserve {
  const freeBytes = () => {
    const s = statfs(dirname(path));
    return Number(s.bavail) * Number(s.bsize);
  };
  return {
    ensure() {
      if (existsSync(path)) return true;
      try {
        if (freeBytes() < 2 * bytes) return false;
        // Written (not sparse): the blocks must really be taken now to be given back later.
        writeFileSync(path, Buffer.alloc(bytes), { flag: 'wx' });
        return true;
      } catch {
        rmSync(path, { force: true }); // a reserve cut short by ENOSPC would only take space
        return false;
      }
    },
    release() {
      if (!existsSync(path)) return false;
      rmSync(path, { force: true });
      return true;
    },
  };
}
