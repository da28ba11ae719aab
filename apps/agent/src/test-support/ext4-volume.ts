import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * Why an ext4 loop mount with `errors=remount-ro` cannot be made and failed here (not root, no loop
 * devices, no mkfs.ext4, no trigger_fs_error), or false when it can: pass it as a test's `skip`.
 */
export const ext4Skip: string | false = (() => {
  try {
    const volume = mountExt4Volume(8);
    try {
      volume.failReadOnly(); // needs /sys/fs/ext4/<dev>/trigger_fs_error (Linux ≥ 6.x)
    } finally {
      volume.unmount();
    }
    return false;
  } catch (error) {
    return `needs an ext4 loop mount (root): ${(error as Error).message.split('\n')[0]}`;
  }
})();

export interface Ext4Volume {
  dir: string;
  /**
   * Makes the kernel remount it read-only as it does for a failing SD card (ext4 errors=remount-ro,
   * through /sys/fs/ext4/<dev>/trigger_fs_error) — with files still open, unlike `mount -o remount,ro`.
   */
  failReadOnly(): void;
  unmount(): void;
}

/** Mounts a fresh ext4 image of `sizeMb` on a loop device, `errors=remount-ro`. */
export function mountExt4Volume(sizeMb: number): Ext4Volume {
  const root = mkdtempSync(join(tmpdir(), 'cti-ext4-'));
  const image = join(root, 'card.img');
  const dir = join(root, 'mnt');
  try {
    writeFileSync(image, Buffer.alloc(0));
    execFileSync('truncate', ['-s', `${sizeMb}M`, image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'pipe' });
    execFileSync('mkdir', [dir]);
    execFileSync('mount', ['-o', 'loop,errors=remount-ro', image, dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const device = execFileSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).trim();
  return {
    dir,
    failReadOnly() {
      // First the journal is checkpointed (a freeze flushes it to the blocks' places). The error
      // aborts the journal: what was committed but not yet checkpointed stays only in the page cache,
      // and once memory pressure evicts it a directory reads back as garbage (EBADMSG, seen in CI),
      // a lost card rather than a read-only one — not what these tests are about.
      execFileSync('fsfreeze', ['--freeze', dir]);
      execFileSync('fsfreeze', ['--unfreeze', dir]);
      writeFileSync(`/sys/fs/ext4/${basename(device)}/trigger_fs_error`, '1');
      const options = execFileSync('findmnt', ['-n', '-o', 'OPTIONS', dir], { encoding: 'utf8' });
      // Recent kernels keep `rw` and add `emergency_ro`; older ones remount `ro`.
      if (!/^ro\b|emergency_ro/.test(options)) throw new Error(`${dir} is still ${options.trim()}`);
    },
    unmount() {
      spawnSync('umount', [dir]);
      spawnSync('losetup', ['-d', device]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
