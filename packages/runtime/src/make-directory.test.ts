import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDirectory, makeDirectorySync } from './make-directory.ts';

test('makeDirectory makes the missing levels, accepts a directory already there, refuses a file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'make-dir-'));
  try {
    const deep = join(root, 'a', 'b', 'c');
    await makeDirectory(deep);
    assert.ok((await stat(deep)).isDirectory());
    await makeDirectory(deep);
    await Promise.all([1, 2, 3].map(() => makeDirectory(join(root, 'a', 'x', 'y'))));
    assert.ok((await stat(join(root, 'a', 'x', 'y'))).isDirectory(), 'concurrent makers agree');
    const file = join(root, 'file');
    await writeFile(file, 'not a directory');
    await assert.rejects(makeDirectory(file), { code: 'EEXIST', path: file });
    await assert.rejects(makeDirectory(join(file, 'below')), { code: 'ENOTDIR' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('makeDirectory under /proc rejects with ENOENT naming the path (Node’s recursive mkdir spins there)', {
  skip: existsSync('/proc/self') ? false : 'no /proc here',
}, async () => {
  for (const path of ['/proc/cti-x', '/proc/cti-x/y', '/proc/self/cti-x']) {
    await assert.rejects(makeDirectory(path), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ENOENT', path);
      assert.match(err.message, /mkdir '\/proc\//);
      return true;
    });
  }
});

test('makeDirectorySync: the same answers, synchronously', async () => {
  const root = await mkdtemp(join(tmpdir(), 'make-dir-sync-'));
  try {
    const deep = join(root, 'a', 'b', 'c');
    makeDirectorySync(deep);
    assert.ok((await stat(deep)).isDirectory());
    makeDirectorySync(deep);
    const file = join(root, 'file');
    await writeFile(file, 'not a directory');
    assert.throws(() => makeDirectorySync(file), { code: 'EEXIST', path: file });
    assert.throws(() => makeDirectorySync(join(file, 'below')), { code: 'ENOTDIR' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  if (!existsSync('/proc/self')) return;
  for (const path of ['/proc/cti-x', '/proc/cti-x/y', '/proc/self/cti-x'])
    assert.throws(() => makeDirectorySync(path), { code: 'ENOENT' }, path);
});
