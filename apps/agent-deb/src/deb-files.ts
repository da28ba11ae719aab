import { chmod, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ElfFile, findElfFiles, readLinkage } from './elf-files.ts';
import { run } from './run-command.ts';

export class ForeignBinaryError extends Error {
  readonly code = 'foreign_binary';
}

async function startsWithShebang(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return head.toString() === '#!';
  } finally {
    await handle.close();
  }
}

/**
 * Debian modes for everything below `root`: directories 0755, ELF executables and `#!` scripts 0755,
 * every other file (JavaScript, shared libraries, Node addons, data) 0644. Ownership is root:root
 * (dpkg-deb --root-owner-group).
 */
export async function normalizeModes(root: string, executables: Set<string>): Promise<void> {
  const walk = async (dir: string, rel: string): Promise<void> => {
    await chmod(dir, 0o755);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path, relPath);
      else if (entry.isFile()) {
        const exec = executables.has(relPath) || (await startsWithShebang(path));
        await chmod(path, exec ? 0o755 : 0o644);
      }
    }
  };
  await walk(root, '');
}

/** A Node shebang as npm packages write it: env node, /usr/bin/node, /usr/local/bin/node, nodejs. */
const NODE_SHEBANG =
  /^#!\s*(?:\/usr\/bin\/env\s+(?:-S\s+)?node(?:js)?|\/usr(?:\/local)?\/bin\/node(?:js)?)(?=\s|$)/;

/**
 * Points every Node script's shebang at the Node the package ships: a Pi has no `node` on PATH, so
 * `#!/usr/bin/env node` would find none (dh_python rewrites Python shebangs the same way).
 */
export async function rewriteNodeShebangs(dir: string, interpreter: string): Promise<number> {
  let rewritten = 0;
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && (await startsWithShebang(path))) {
        const text = await readFile(path, 'utf8');
        if (!NODE_SHEBANG.test(text)) continue;
        await writeFile(path, text.replace(NODE_SHEBANG, `#!${interpreter}`));
        rewritten++;
      }
    }
  };
  await walk(dir);
  return rewritten;
}

/**
 * Every ELF file of the package: refuses any that is not aarch64 (an x86 addon left behind would only
 * fail on the Pi), strips them as dh_strip does, and returns them with their dynamic linkage.
 */
export async function checkAndStripElfFiles(root: string) {
  const elves = await findElfFiles(root);
  const foreign = elves.filter((f) => f.machine !== 'aarch64');
  if (foreign.length > 0) {
    throw new ForeignBinaryError(
      `not arm64: ${foreign.map((f) => `${f.path} (${f.machine})`).join(', ')}; prune them or build them for arm64`,
    );
  }
  for (const elf of elves) await strip(join(root, elf.path), elf);
  return Promise.all(
    elves.map(async (elf) => ({ ...elf, linkage: await readLinkage(join(root, elf.path)) })),
  );
}

async function strip(path: string, elf: ElfFile): Promise<void> {
  // As dh_strip: executables lose all symbols but the dynamic ones (which Node addons link against),
  // shared objects and addons keep only the symbols needed for relocation.
  const args = ['--remove-section=.comment', '--remove-section=.note'];
  args.push(elf.executable ? '--strip-all' : '--strip-unneeded');
  await run('aarch64-linux-gnu-strip', [...args, path]);
}
