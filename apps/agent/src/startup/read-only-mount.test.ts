import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isReadOnlyMount } from './read-only-mount.ts';

const root = mkdtempSync(join(tmpdir(), 'cti-ro-mount-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('the deepest mount holding a path decides: ro, emergency_ro (a failed ext4 card still says rw), stacked mounts, escaped spaces', () => {
  const card = join(root, 'my card');
  const data = join(card, 'cti');
  mkdirSync(data, { recursive: true });
  const escaped = card.replaceAll(' ', '\\040');
  const table = (cardLine: string) => {
    const file = join(root, `mountinfo-${Math.random()}`);
    writeFileSync(
      file,
      [
        '1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
        `60 1 0:50 / ${escaped.slice(0, -3)} ro,relatime - tmpfs tmpfs ro`, // a prefix, not a parent
        cardLine,
        '',
      ].join('\n'),
    );
    return file;
  };
  const line = (options: string, superOptions: string) =>
    `70 1 7:0 / ${escaped} ${options} - ext4 /dev/loop0 ${superOptions}`;
  assert.equal(isReadOnlyMount(data, table(line('rw,relatime', 'rw,errors=remount-ro'))), false);
  assert.equal(isReadOnlyMount(data, table(line('ro,relatime', 'rw'))), true);
  assert.equal(isReadOnlyMount(data, table(line('rw,relatime', 'rw,errors=remount-ro,emergency_ro'))), true);
  const stacked = `${line('ro,relatime', 'ro')}\n71 1 7:1 / ${escaped} rw,relatime - ext4 /dev/loop1 rw`;
  assert.equal(isReadOnlyMount(data, table(stacked)), false, 'the last mount on a point is the one seen');
  assert.equal(isReadOnlyMount(join(root, 'missing'), table('')), false);
});
