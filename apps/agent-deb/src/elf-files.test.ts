import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { elfHeader, findElfFiles, readLinkage } from './elf-files.ts';

// Real binaries: the host's x86 `true`, and arm64 libraries from Debian's cross packages
// (libc6-arm64-cross, libstdc++6-arm64-cross, installed with crossbuild-essential-arm64).
const ARM64_LIBS = '/usr/aarch64-linux-gnu/lib';
const dir = mkdtempSync(join(tmpdir(), 'cti-elf-test-'));

before(() => {
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'lib'));
  copyFileSync('/bin/true', join(dir, 'bin/true'));
  copyFileSync(join(ARM64_LIBS, 'libstdc++.so.6'), join(dir, 'lib/libstdc++.so.6'));
  writeFileSync(join(dir, 'lib/notes.txt'), 'not a binary');
  writeFileSync(join(dir, 'short'), '\x7fEL');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ELF files of a package tree', () => {
  test('finds every ELF file with its machine; executables told from libraries', async () => {
    const found = await findElfFiles(dir);
    assert.deepEqual(found, [
      { path: 'bin/true', machine: 'x86-64', executable: true },
      { path: 'lib/libstdc++.so.6', machine: 'aarch64', executable: false },
    ]);
    assert.equal(await elfHeader(join(dir, 'short')), null);
  });

  test('reads soname, needed libraries and the symbol versions asked of each', async () => {
    const linkage = await readLinkage(join(dir, 'lib/libstdc++.so.6'));
    assert.equal(linkage.soname, 'libstdc++.so.6');
    assert.ok(linkage.needed.includes('libc.so.6'), linkage.needed.join());
    assert.ok(linkage.versionNeeds['libc.so.6']!.some((v) => /^GLIBC_2\.\d+$/.test(v)));
    assert.ok(
      !Object.values(linkage.versionNeeds)
        .flat()
        .some((v) => v.startsWith('GLIBCXX')),
    );
  });
});
