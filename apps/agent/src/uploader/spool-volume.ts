import { statSync } from 'node:fs';

/**
 * Tells a spool file that is really missing (deleted, a damaged card: quarantine) from one whose volume
 * is not there (review r20 F11): `data_dir` on a USB SSD or an automount that went away, or was renamed,
 * takes the spool root with it, and every pending capture then looked "missing". The spool root's
 * device is remembered at start; a root that is gone or now on another device (the mount point's own
 * directory) means the volume is away, which is transient.
 *
 * @example
 * const volume = createSpoolVolume('/var/lib/cti/spool');
 * const away = volume.away('/var/lib/cti/spool/cap_…'); // null: the volume is there
 */
export function createSpoolVolume(spoolDir: string) {
  let device = deviceOf(spoolDir);
  return {
    /**
     * Why the data volume is not there, or null when the spool root exists on the device it was on at
     * start and `captureDir`, if it still exists, is on it too.
     */
    away(captureDir?: string): string | null {
      const now = deviceOf(spoolDir);
      if (now === null) return `the data volume is not mounted: ${spoolDir} is missing`;
      device ??= now;
      if (now !== device)
        return `the data volume is not mounted: ${spoolDir} is on another device (${now}, was ${device} at start)`;
      const dir = captureDir === undefined ? null : deviceOf(captureDir);
      if (dir !== null && dir !== device)
        return `the data volume is not mounted: ${captureDir} is on another device (${dir}, was ${device} at start)`;
      return null;
    },
  };
}

export type SpoolVolume = ReturnType<typeof createSpoolVolume>;

/** The device a path is on, null when it cannot be stat'ed (gone, or an I/O error of a dead mount). */
function deviceOf(path: string): number | null {
  try {
    return statSync(path).dev;
  } catch {
    return null;
  }
}
