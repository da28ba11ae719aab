import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mountSmallVolume, tmpfsSkip } from '../test-support/tmpfs.ts';
import { createSpoolVolume } from './spool-volume.ts';

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

test('a capture directory missing from a spool that is there: the volume is there (a real loss, quarantined)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-spool-volume-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const spool = join(dir, 'spool');
  mkdirSync(join(spool, 'cap_1'), { recursive: true });
  const volume = createSpoolVolume(spool);
  assert.equal(volume.away(join(spool, 'cap_1')), null);
  assert.equal(volume.away(join(spool, 'cap_gone')), null);
  rmSync(spool, { recursive: true });
  assert.equal(volume.away(join(spool, 'cap_1')), `the data volume is not mounted: ${spool} is missing`);
});

test('the volume unmounted under the spool: missing, then the mount point’s own directory is another device', {
  skip: tmpfsSkip,
}, () => {
  const small = mountSmallVolume('1m');
  cleanups.push(() => rmSync(small.dir, { recursive: true, force: true }));
  const spool = join(small.dir, 'spool');
  mkdirSync(spool);
  const volume = createSpoolVolume(spool);
  assert.equal(volume.away(), null);
  execFileSync('umount', ['-l', small.dir]);
  assert.equal(volume.away(), `the data volume is not mounted: ${spool} is missing`);
  mkdirSync(spool); // something made the directory again on the root file system
  assert.match(
    volume.away() ?? '',
    new RegExp(`^the data volume is not mounted: ${spool} is on another device`),
  );
});
