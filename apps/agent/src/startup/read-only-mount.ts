import { readFileSync, realpathSync } from 'node:fs';

const unescapeMountPath = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/**
 * Whether the file system holding `path` is mounted read-only, read from the mount table without
 * writing anything: `ro` in the mount or super-block options, or `emergency_ro` — what recent
 * kernels set on an ext4 card that failed (errors=remount-ro): the mount then still says `rw`,
 * `access(W_OK)` succeeds, and only a write fails with EROFS. False when it cannot be told.
 */
export function isReadOnlyMount(path: string, mountinfo = '/proc/self/mountinfo'): boolean {
  let real: string;
  let table: string;
  try {
    real = realpathSync(path);
    table = readFileSync(mountinfo, 'utf8');
  } catch {
    return false;
  }
  let best: { point: string; readOnly: boolean } | null = null;
  for (const line of table.split('\n')) {
    // `id parent dev root mount-point mount-options [optional…] - fstype source super-options`
    const [head, tail] = line.split(' - ');
    const fields = head?.split(' ') ?? [];
    if (tail === undefined || fields.length < 6) continue;
    const point = unescapeMountPath(fields[4]!);
    const inside = real === point || real.startsWith(point.endsWith('/') ? point : `${point}/`);
    // The deepest mount point holding the path; of stacked mounts on one point, the last.
    if (!inside || (best && point.length < best.point.length)) continue;
    const options = [...fields[5]!.split(','), ...(tail.split(' ')[2]?.split(',') ?? [])];
    best = { point, readOnly: options.includes('ro') || options.includes('emergency_ro') };
  }
  return best?.readOnly ?? false;
}
