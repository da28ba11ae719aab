import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fakeCapture, outboxIn, outboxWithWalIn } from './test-support/outbox-fixtures.ts';
import { runAgentCli, writeOutboxOnlyConfig } from './test-support/run-cli.ts';
import { mountSmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

/** A tmpfs card (remounted read-only by the test), and a writable directory off it. */
function cardAndScratch() {
  const card = mountSmallVolume('16m');
  cleanups.push(card.unmount);
  const scratch = mkdtempSync(join(tmpdir(), 'cti-ro-card-errors-'));
  cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  const config = (dataDir: string) =>
    writeOutboxOnlyConfig(join(scratch, `${dataDir.split('/').at(-1)}.json`), dataDir);
  return { card, scratch, config };
}

const stack = /\n\s+at /;

test('a damaged outbox.db on a read-only card is said to be damaged, with what to save and no "make room in /tmp" or "move it aside" (review r10 F2)', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const { card, scratch, config } = cardAndScratch();
  // Read in place (no -wal), and through a copy (a -wal without -shm): both find the damage.
  const plain = join(card.dir, 'plain');
  const outbox = outboxIn(plain, { minFreeBytes: 0 });
  for (const n of [1, 2, 3]) await outbox.commitCapture(fakeCapture(n));
  outbox.close();
  const withWal = join(card.dir, 'with-wal');
  await outboxWithWalIn(withWal);
  // The -wal too: SQLite reads the pages it holds (page 1 among them) from there, not from outbox.db.
  for (const file of [join(plain, 'outbox.db'), join(withWal, 'outbox.db'), join(withWal, 'outbox.db-wal')]) {
    writeFileSync(file, Buffer.alloc(statSync(file).size, 0x41));
  }
  card.readOnly();
  const env = { ...process.env, TMPDIR: scratch };

  for (const dataDir of [plain, withWal]) {
    for (const args of [['outbox', 'list'], ['status']]) {
      const run = await runAgentCli(['--config', config(dataDir), ...args], { env });
      const what = `${dataDir} ${args.join(' ')}: ${run.stderr}`;
      assert.equal(run.code, 1, what);
      assert.match(
        run.stderr,
        new RegExp(
          `^cti-agent: outbox database ${dataDir}/outbox\\.db cannot be opened: file is not a database; it is on a read-only volume .*\\. ` +
            `Fix: nothing can be repaired or moved on that card: copy its spool directory to another volume \\(\`cp -a ${dataDir}/spool <dir>\`.*replace the card`,
        ),
        what,
      );
      assert.doesNotMatch(run.stderr, /could not be copied|make room|mv .*damaged/, what);
      assert.doesNotMatch(run.stderr, stack, what);
    }
  }
  assert.deepEqual(
    readdirSync(scratch).filter((n) => n.startsWith('cti-outbox-snapshot-')),
    [],
  );
});

test('TMPDIR on the failed card itself: the snapshot goes to the runtime directory in RAM instead (review r10 F3)', {
  skip: tmpfsSkip,
  timeout: 120_000,
}, async () => {
  const { card, scratch, config } = cardAndScratch();
  const dataDir = join(card.dir, 'cti');
  await outboxWithWalIn(dataDir);
  mkdirSync(join(card.dir, 'tmp')); // /tmp on the SD card, as Raspberry Pi OS has it
  card.readOnly();
  const runtime = join(scratch, 'run-user');
  mkdirSync(runtime);
  const env = { ...process.env, TMPDIR: join(card.dir, 'tmp'), XDG_RUNTIME_DIR: runtime };

  const list = await runAgentCli(['--config', config(dataDir), 'outbox', 'list'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stderr, /^cti-agent: the data volume .* this is a snapshot copied from it/);
  assert.equal(list.stdout.split('\n').filter(Boolean).length, 4);
  assert.deepEqual(readdirSync(runtime), [], 'the snapshot removed');
});

/** Runs the CLI in its own mount namespace where /dev/shm is a read-only tmpfs. */
const devShmReadOnly = [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  'sh',
  '-c',
  'mount -t tmpfs -o ro,size=64k tmpfs /dev/shm && exec "$@"',
  'sh',
];
const unshareSkip =
  tmpfsSkip ||
  (spawnSync(devShmReadOnly[0]!, [...devShmReadOnly.slice(1), 'true']).status === 0
    ? false
    : 'needs unshare --mount (root)');

test('no temp directory takes the snapshot: one line naming each one tried and the fix (TMPDIR), no stack trace (review r10 F3)', {
  skip: unshareSkip,
  timeout: 120_000,
}, async () => {
  const { card, scratch, config } = cardAndScratch();
  const dataDir = join(card.dir, 'cti');
  await outboxWithWalIn(dataDir);
  mkdirSync(join(card.dir, 'tmp'));
  card.readOnly();
  const missing = join(scratch, 'no-such-dir');
  const env = { ...process.env, TMPDIR: missing, XDG_RUNTIME_DIR: join(card.dir, 'tmp') };

  for (const args of [['outbox', 'list'], ['status']]) {
    const run = await runAgentCli(['--config', config(dataDir), ...args], { env, wrapper: devShmReadOnly });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(
      run.stderr,
      `cti-agent: outbox database ${dataDir}/outbox.db is on a read-only volume and could not be copied to read it: ` +
        `no temp directory took the copy (${missing}: ENOENT, ${card.dir}/tmp: EROFS, /dev/shm: EROFS). ` +
        'Fix: run the command again with TMPDIR=<a writable directory off the card, with 1 MB free>; ' +
        'do not move the file aside: it holds the upload queue\n',
    );
  }
});
