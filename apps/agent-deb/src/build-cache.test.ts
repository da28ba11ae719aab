import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cached, cacheKey, cacheRoot, hashTree } from './build-cache.ts';

const dir = mkdtempSync(join(tmpdir(), 'cti-build-cache-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('build cache', () => {
  test('CTI_CACHE_DIR wins; default under ~/.cache', () => {
    assert.equal(cacheRoot({ CTI_CACHE_DIR: '/x/y' }), '/x/y');
    assert.match(cacheRoot({}), /\.cache\/cti-agent-deb$/);
  });

  test('keys change with any part and with the order or split of the parts', () => {
    const key = cacheKey(['better-sqlite3', '13.2.0', '24.22.3']);
    assert.match(key, /^[0-9a-f]{16}$/);
    assert.equal(cacheKey(['better-sqlite3', '13.2.0', '24.22.3']), key);
    assert.notEqual(cacheKey(['better-sqlite3', '13.2.0', '24.22.4']), key);
    assert.notEqual(cacheKey(['13.2.0', 'better-sqlite3', '24.22.3']), key);
    assert.notEqual(cacheKey(['ab', 'c']), cacheKey(['a', 'bc']));
  });

  test('a tree hash follows contents and names, not excluded entries', async () => {
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'src'), { recursive: true });
    mkdirSync(join(tree, 'build'));
    writeFileSync(join(tree, 'src/a.cc'), 'int a;');
    const first = await hashTree(tree, new Set(['build']));
    writeFileSync(join(tree, 'build/a.o'), 'object');
    assert.equal(await hashTree(tree, new Set(['build'])), first);
    writeFileSync(join(tree, 'src/a.cc'), 'int b;');
    assert.notEqual(await hashTree(tree, new Set(['build'])), first);
  });

  test('an entry is produced once; a failed production leaves nothing behind', async () => {
    const entry = join(dir, 'entries', 'addon.node');
    let calls = 0;
    const produce = async (tmp: string) => {
      calls++;
      await writeFile(tmp, 'binary');
    };
    assert.equal(await cached(entry, produce), entry);
    await cached(entry, produce);
    assert.equal(calls, 1);
    assert.equal(readFileSync(entry, 'utf8'), 'binary');

    const failing = join(dir, 'entries', 'broken.node');
    await assert.rejects(
      cached(failing, async (tmp) => {
        await writeFile(tmp, 'half');
        throw new Error('compiler crashed');
      }),
      /compiler crashed/,
    );
    assert.equal(existsSync(failing), false);
    assert.deepEqual(readdirSync(join(dir, 'entries')), ['addon.node']);
  });
});
