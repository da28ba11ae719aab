import { open, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { run } from './run-command.ts';

/** e_machine values of the architectures a Node bundle may carry. */
const MACHINES: Record<number, string> = { 3: 'x86', 40: 'arm', 62: 'x86-64', 183: 'aarch64' };

export type ElfFile = {
  /** Relative to the scanned directory. */
  path: string;
  machine: string;
  /** ET_EXEC or ET_DYN with a program interpreter: something to run rather than load. */
  executable: boolean;
};

/** The ELF header fields we need (machine name, e_type), or null for a file that is not ELF. */
export async function elfHeader(path: string): Promise<{ machine: string; type: number } | null> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(20);
    const { bytesRead } = await handle.read(header, 0, 20, 0);
    if (bytesRead < 20 || header.readUInt32BE(0) !== 0x7f454c46) return null;
    const machine = header.readUInt16LE(18);
    return {
      machine: MACHINES[machine] ?? `e_machine 0x${machine.toString(16)}`,
      type: header.readUInt16LE(16),
    };
  } finally {
    await handle.close();
  }
}

/** Every ELF file below `dir` (executables, shared libraries, Node addons), in sorted order. */
export async function findElfFiles(dir: string): Promise<ElfFile[]> {
  const found: ElfFile[] = [];
  const walk = async (current: string): Promise<void> => {
    for (const entry of (await readdir(current, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const header = await elfHeader(path);
        if (!header) continue;
        const executable = header.type === 2 || (header.type === 3 && (await hasInterpreter(path)));
        found.push({ path: relative(dir, path), machine: header.machine, executable });
      }
    }
  };
  await walk(dir);
  return found;
}

async function hasInterpreter(path: string): Promise<boolean> {
  const { stdout } = await run('readelf', ['--program-headers', '--wide', path]);
  return /\bINTERP\b/.test(stdout);
}

export type ElfLinkage = {
  soname: string | null;
  /** DT_NEEDED sonames. */
  needed: string[];
  /** Symbol versions required, per library: { 'libc.so.6': ['GLIBC_2.17', …] }. */
  versionNeeds: Record<string, string[]>;
};

/** What a binary needs from the dynamic linker, read with binutils' readelf (any architecture). */
export async function readLinkage(path: string): Promise<ElfLinkage> {
  const { stdout: dynamic } = await run('readelf', ['--dynamic', '--wide', path]);
  const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const soname = /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(dynamic)?.[1] ?? null;
  const { stdout: versions } = await run('readelf', ['--version-info', '--wide', path]);
  const versionNeeds: Record<string, string[]> = {};
  const section = versions.split(/Version needs section/)[1] ?? '';
  let library: string | null = null;
  for (const line of section.split('\n')) {
    const file = /File: (\S+)/.exec(line);
    if (file) {
      library = file[1]!;
      versionNeeds[library] ??= [];
      continue;
    }
    if (/^\S/.test(line) && line.includes('section')) break;
    const name = /Name: (\S+)/.exec(line);
    if (name && library) versionNeeds[library]!.push(name[1]!);
  }
  return { soname, needed, versionNeeds };
}
