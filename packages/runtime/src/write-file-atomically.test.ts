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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeFileAtomically } from './write-file-atomically.ts';

const dir = mkdtempSync(join(tmpdir(), 'cti-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomically', () => {
  it('replaces the file whole and leaves no temporary file', async () => {
    const file = join(dir, 'state.json');
    writeFileSync(file, 'old');
    await writeFileAtomically(file, '{"new":true}');
    assert.equal(readFileSync(file, 'utf8'), '{"new":true}');
    assert.deepEqual(readdirSync(dir), ['state.json']);
  });

  it('a failed rename leaves what was there and removes its temporary file', async () => {
    const target = join(dir, 'a-directory');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'kept');
    await assert.rejects(writeFileAtomically(target, 'data'), /EISDIR|ENOTEMPTY|EEXIST|EPERM/);
    assert.equal(readFileSync(join(target, 'inside'), 'utf8'), 'kept');
    assert.equal(existsSync(`${target}.tmp-${process.pid}`), false);
  });
});
