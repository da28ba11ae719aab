import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { emptyState, loadState, saveState } from './watch-state.ts';

test('a state file that is JSON but not a relay state is refused naming the file (null was a TypeError)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cti-watch-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  for (const text of [
    'null',
    '7',
    '{"version":1,"settled":null,"pending":{}}',
    '{"version":1,"settled":{},"pending":null}',
  ]) {
    await writeFile(file, text);
    await assert.rejects(
      loadState(file, 'b', 'raw/'),
      (e: Error) => e.message === `state file ${file} (CTI_RELAY_STATE_FILE) is not a version 1 relay state`,
    );
  }
});

test('saveState replaces the file whole and leaves no temp file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cti-watch-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'sub', 'state.json');
  const state = { ...emptyState('b', 'raw/'), watermark: '2025-09-09T14:18:32.000Z' };
  await saveState(file, state);
  await saveState(file, state);
  assert.deepEqual(await loadState(file, 'b', 'raw/'), state);
  assert.deepEqual(await readdir(join(dir, 'sub')), ['state.json']);
});

test('a state file under /proc is refused at once naming its directory (recursive mkdir spins there)', {
  skip: existsSync('/proc/self') ? false : 'no /proc here',
}, async () => {
  await assert.rejects(saveState('/proc/cti-x/state.json', emptyState('b', 'raw/')), {
    code: 'ENOENT',
    message: /mkdir '\/proc\/cti-x'/,
  });
});
