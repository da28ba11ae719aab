import type { ElfLinkage } from './elf-files.ts';

/** Sonames the system provides, by the Debian package that provides them on arm64. */
export const SYSTEM_LIBRARIES: Record<string, string> = {
  'ld-linux-aarch64.so.1': 'libc6',
  'libc.so.6': 'libc6',
  'libm.so.6': 'libc6',
  'libdl.so.2': 'libc6',
  'libpthread.so.0': 'libc6',
  'librt.so.1': 'libc6',
  'libresolv.so.2': 'libc6',
  'libstdc++.so.6': 'libstdc++6',
  'libgcc_s.so.1': 'libgcc-s1',
};

/**
 * The first GCC release whose libstdc++ defines each GLIBCXX_3.4.N symbol version (the libstdc++
 * manual's ABI history); libstdc++6 is versioned by GCC's version in Debian.
 */
const GLIBCXX_GCC: Record<number, string> = {
  19: '4.8.3',
  20: '4.9',
  21: '5',
  22: '6',
  23: '7',
  24: '7.2',
  25: '8',
  26: '9',
  27: '9.2',
  28: '9.3',
  29: '11',
  30: '12',
  31: '13',
  32: '13.2',
  33: '14',
};

export class UnknownLibraryError extends Error {
  readonly code = 'unknown_shared_library';
}

/** Numeric compare of dotted versions ("2.34" > "2.17", "13.2" > "13"). */
export function compareDotted(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The minimum package version a symbol version asks for, or null when it implies none. */
function minimumVersion(pkg: string, symbolVersion: string, file: string): string | null {
  if (pkg === 'libc6') return /^GLIBC_(\d+(?:\.\d+)+)$/.exec(symbolVersion)?.[1] ?? null;
  if (pkg === 'libgcc-s1') return /^GCC_(\d+\.\d+)/.exec(symbolVersion)?.[1] ?? null;
  const glibcxx = /^GLIBCXX_3\.4\.(\d+)$/.exec(symbolVersion);
  if (!glibcxx) return null; // CXXABI_* and GLIBCXX_3.4 come with the GLIBCXX levels
  const gcc = GLIBCXX_GCC[Number(glibcxx[1])];
  if (gcc) return gcc;
  if (Number(glibcxx[1]) < 19) return null;
  throw new UnknownLibraryError(
    `${file} needs ${symbolVersion}, newer than the GLIBCXX table in deb-depends.ts knows: add its GCC version`,
  );
}

/**
 * The package's shared-library Depends, computed like dpkg-shlibdeps from what the ELF files need:
 * every soname is either bundled (some file in the package has it) or a known system library, whose
 * package gets the highest minimum version any file asks for. An unknown soname stops the build.
 *
 * @example
 * sharedLibraryDepends([{ path: 'opt/cti/node/bin/node', linkage }]) // ['libc6 (>= 2.28)', …]
 */
export function sharedLibraryDepends(files: { path: string; linkage: ElfLinkage }[]): string[] {
  const bundled = new Set<string>();
  for (const f of files) {
    bundled.add(f.path.split('/').pop()!);
    if (f.linkage.soname) bundled.add(f.linkage.soname);
  }
  const minimum = new Map<string, string | null>();
  for (const { path, linkage } of files) {
    for (const soname of linkage.needed) {
      if (bundled.has(soname)) continue;
      const pkg = SYSTEM_LIBRARIES[soname];
      if (!pkg) {
        throw new UnknownLibraryError(
          `${path} needs ${soname}, which is neither in the package nor a known system library: add its Debian package to SYSTEM_LIBRARIES in deb-depends.ts (and to Depends)`,
        );
      }
      if (!minimum.has(pkg)) minimum.set(pkg, null);
      for (const symbolVersion of linkage.versionNeeds[soname] ?? []) {
        const version = minimumVersion(pkg, symbolVersion, path);
        const current = minimum.get(pkg);
        if (version && (!current || compareDotted(version, current) > 0)) minimum.set(pkg, version);
      }
    }
  }
  return [...minimum.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pkg, version]) => (version ? `${pkg} (>= ${version})` : pkg));
}
