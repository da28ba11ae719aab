import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareDotted, sharedLibraryDepends, UnknownLibraryError } from './deb-depends.ts';
import type { ElfLinkage } from './elf-files.ts';

const linkage = (
  needed: string[],
  versionNeeds: Record<string, string[]> = {},
  soname: string | null = null,
) => ({ needed, versionNeeds, soname }) satisfies ElfLinkage;

describe('shared-library Depends from the ELF files', () => {
  test('the highest version any file needs, per system package', () => {
    const depends = sharedLibraryDepends([
      {
        path: 'opt/cti/node/bin/node',
        linkage: linkage(['libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1'], {
          'libc.so.6': ['GLIBC_2.17', 'GLIBC_2.28'],
          'libm.so.6': ['GLIBC_2.29'],
          'libstdc++.so.6': ['GLIBCXX_3.4.21', 'CXXABI_1.3.9', 'GLIBCXX_3.4'],
          'libgcc_s.so.1': ['GCC_3.0', 'GCC_4.5.0'],
        }),
      },
      {
        path: 'opt/cti/agent/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
        linkage: linkage(['libc.so.6', 'libstdc++.so.6'], {
          'libc.so.6': ['GLIBC_2.34', 'GLIBC_2.17'],
          'libstdc++.so.6': ['GLIBCXX_3.4.29'],
        }),
      },
    ]);
    assert.deepEqual(depends, ['libc6 (>= 2.34)', 'libgcc-s1 (>= 4.5)', 'libstdc++6 (>= 11)']);
  });

  test('libraries shipped in the package satisfy themselves (by soname or file name)', () => {
    const depends = sharedLibraryDepends([
      { path: 'ort/onnxruntime_binding.node', linkage: linkage(['libonnxruntime.so.1', 'libc.so.6']) },
      { path: 'ort/libonnxruntime.so.1', linkage: linkage(['libc.so.6']) },
      { path: 'img/sharp.node', linkage: linkage(['libvips-cpp.so.42']) },
      { path: 'img/lib/libvips-cpp.so.8.18.7', linkage: linkage(['libc.so.6'], {}, 'libvips-cpp.so.42') },
    ]);
    assert.deepEqual(depends, ['libc6']);
  });

  test('an unknown system library stops the build naming the file and what to add', () => {
    assert.throws(
      () => sharedLibraryDepends([{ path: 'x/addon.node', linkage: linkage(['libusb-1.0.so.0']) }]),
      (err: Error) =>
        err instanceof UnknownLibraryError &&
        /x\/addon\.node needs libusb-1\.0\.so\.0/.test(err.message) &&
        /SYSTEM_LIBRARIES/.test(err.message),
    );
  });

  test('a GLIBCXX newer than the table is an error, not a silent unversioned dependency', () => {
    assert.throws(
      () =>
        sharedLibraryDepends([
          { path: 'a.node', linkage: linkage(['libstdc++.so.6'], { 'libstdc++.so.6': ['GLIBCXX_3.4.40'] }) },
        ]),
      /needs GLIBCXX_3\.4\.40, newer than the GLIBCXX table/,
    );
  });

  test('dotted versions compare numerically', () => {
    assert.ok(compareDotted('2.34', '2.4') > 0);
    assert.ok(compareDotted('13.2', '13') > 0);
    assert.equal(compareDotted('11', '11.0'), 0);
  });
});
