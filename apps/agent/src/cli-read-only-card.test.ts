import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { ext4Skip, mountExt4Volume } from './test-support/ext4-volume.ts';
import { fakeCapture, outboxWithWalIn } from './test-support/outbox-fixtures.ts';
import { runAgentCli, writeOutboxOnlyConfig } from './test-support/run-cli.ts';
import { mountSmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

const cleanups: Array<() => unknown> = [];
after(async () => {
  // In order (a holder must be gone before its card is unmounted), and every one of them.
  const failures: unknown[] = [];
  for (const fn of cleanups.reverse())
    await Promise.resolve()
      .then(fn)
      .catch((e) => failures.push(e));
  if (failures.length > 0) throw failures[0];
});

/** Every file under `dir` with its size and mtime: what must not change on a read-only card. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => join(e.parentPath, e.name))
    .map((path) => `${path} ${statSync(path).size} ${statSync(path).mtimeMs}`)
    .sort();
}

/** A test's card: a real volume holding the data directory, and how it turns read-only. */
interface Card {
  dir: string;
  readOnly(): void;
  unmount(): void;
}

const tmpfsCard = (): Card => mountSmallVolume('8m');
/** An ext4 card the kernel fails as it does a dying SD card: `emergency_ro`, files may stay open. */
function ext4Card(): Card {
  const card = mountExt4Volume(16);
  return { dir: card.dir, unmount: card.unmount, readOnly: card.failReadOnly };
}

const holderScript = join(import.meta.dirname, 'test-support', 'outbox-holder.ts');

/**
 * A process holding the outbox open as `cti-agent run` does (test-support/outbox-holder.ts), once it
 * committed captures 1–4 and quarantined the 4th. `commit()` asks it for one more capture and
 * resolves with what it printed.
 */
async function startHolder(dataDir: string) {
  const child = spawn(process.execPath, [holderScript, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the holder exited (${child.exitCode ?? child.signalCode})`);
    return value;
  };
  assert.equal(await nextLine(), 'ready');
  return {
    commit: () => {
      child.stdin.write('commit\n');
      return nextLine();
    },
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * How the outbox got onto the card and the card failed; what the readers then read: the database in
 * place (SQLite opens it read-only with the `-shm` a running service or a crash leaves), or a
 * snapshot copy (a `-wal` without `-shm`: SQLite cannot open it there even to read).
 */
const cases: Array<{
  name: string;
  skip: string | false;
  card: () => Card;
  fail: (card: Card, dataDir: string) => Promise<void>;
  reads: 'in place' | 'snapshot';
}> = [
  {
    name: 'tmpfs remounted read-only, its files copied there (-wal, no -shm)',
    skip: tmpfsSkip,
    card: tmpfsCard,
    fail: async (card, dataDir) => {
      await outboxWithWalIn(dataDir);
      card.readOnly();
    },
    reads: 'snapshot',
  },
  {
    name: 'ext4 card the kernel made read-only (emergency_ro), its files copied there (-wal, no -shm)',
    skip: ext4Skip,
    card: ext4Card,
    fail: async (card, dataDir) => {
      await outboxWithWalIn(dataDir);
      card.readOnly();
    },
    reads: 'snapshot',
  },
  {
    name: 'ext4 card failing (emergency_ro) while the service holds the outbox open (review r10 F1)',
    skip: ext4Skip,
    card: ext4Card,
    fail: async (card, dataDir) => {
      mkdirSync(dataDir);
      const holder = await startHolder(dataDir);
      cleanups.push(holder.kill);
      card.readOnly();
      // The service's next capture cannot be written: the card really failed under it.
      assert.match(await holder.commit(), /^failed .*EROFS/);
    },
    reads: 'in place',
  },
  {
    name: 'tmpfs remounted read-only after the service was SIGKILLed, its -wal and -shm left (review r10 F1)',
    skip: tmpfsSkip,
    card: tmpfsCard,
    fail: async (card, dataDir) => {
      mkdirSync(dataDir);
      const holder = await startHolder(dataDir);
      await holder.kill();
      card.readOnly();
    },
    reads: 'in place',
  },
];

for (const c of cases) {
  test(`a card that went read-only (${c.name}): status, outbox list, show and export read it ${c.reads === 'snapshot' ? 'through a snapshot' : 'in place'} and say so, run and doctor fail on the data dir; nothing is written to the card`, {
    skip: c.skip,
    timeout: 120_000,
  }, async () => {
    const card = c.card();
    cleanups.push(card.unmount);
    const dataDir = join(card.dir, 'cti');
    const dir = mkdtempSync(join(tmpdir(), 'cti-ro-card-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'agent.json');
    writeOutboxOnlyConfig(config, dataDir, { outbox: { min_free_mb: 1 } });
    await c.fail(card, dataDir);
    assert.equal(
      existsSync(join(dataDir, 'outbox.db-shm')),
      c.reads === 'in place',
      'the -shm file decides how SQLite can read it',
    );
    const before = listing(card.dir);
    // The CLI's own temp directory, to see that the snapshot is removed afterwards.
    const cliTmp = join(dir, 'tmp');
    mkdirSync(cliTmp);
    const env = { ...process.env, TMPDIR: cliTmp };
    const cli = (...args: string[]) => runAgentCli(['--config', config, ...args], { env });
    const read =
      c.reads === 'snapshot' ? 'this is a snapshot copied from it' : 'this is what it holds, read in place';
    const said = new RegExp(
      `^cti-agent: the data volume holding .*outbox\\.db is read-only .*: ${read}, nothing on it was changed\\. Fix: export the pending captures .* then replace the card`,
    );

    const status = await cli('status');
    assert.equal(status.code, 1, status.stderr); // 1: the service is not running
    const offline = JSON.parse(status.stdout);
    assert.deepEqual([offline.outbox.pendingCaptures, offline.outbox.quarantined], [3, 1]);
    assert.match(`cti-agent: ${offline.outboxReadOnly}`, said);

    const list = await cli('outbox', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, said);
    assert.deepEqual(
      list.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(/\s+/).slice(0, 2).join(' ')),
      ['cap_t00001 pending', 'cap_t00002 pending', 'cap_t00003 pending', 'cap_t00004 quarantined'],
    );
    const json = await cli('outbox', 'list', '--state', 'pending', '--json');
    assert.equal(JSON.parse(json.stdout).length, 3, 'stdout stays JSON; the note is on stderr');

    const show = await cli('outbox', 'show', 'cap_t00004');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^cap_t00004 {2}quarantined .*IntegrityError\n {2}image\.png/);

    const salvage = join(dir, 'salvage');
    mkdirSync(salvage);
    for (const id of ['cap_t00001', 'cap_t00002', 'cap_t00003']) {
      const exported = await cli('outbox', 'export', id, salvage);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(
        exported.stdout,
        new RegExp(`exported to ${join(salvage, id)} \\(with outbox-record\\.json\\)`),
      );
      const image = fakeCapture(Number(id.slice(-5))).files[0]!.data;
      assert.deepEqual(readFileSync(join(salvage, id, 'image.png')), image);
    }

    // Changing it still says why it cannot (the volume is read-only), never "move it aside".
    const retry = await cli('outbox', 'retry');
    assert.equal(retry.code, 1);
    assert.match(retry.stderr, /outbox\.db is read-only for the agent: data_dir .* \(EROFS on /);
    assert.doesNotMatch(retry.stderr, /move it aside|\n\s+at /);

    // Said as `retry` says it, also where access(W_OK) passes (emergency_ro): by a restarted service
    // at its start, and by doctor.
    const run = await runAgentCli(['--config', config, 'run'], { env, timeoutMs: 20_000 });
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^cti-agent: data_dir .*cti is read-only for the agent \(EROFS on .*cti\)\. Fix: .*replace the card\n$/,
    );
    const doctor = await cli('doctor');
    assert.match(
      doctor.stdout,
      /^\[FAIL\] data dir +data_dir .*cti is read-only for the agent \(EROFS on .*cti\)\n +fix: .*replace the card/m,
    );

    // A reader that closed the output: exit 141, quietly, the snapshot removed all the same.
    const closed = await runAgentCli(['--config', config, 'outbox', 'list'], { env, stdoutClosed: true });
    assert.equal(closed.code, 141, closed.stderr);
    assert.doesNotMatch(closed.stderr, /EPIPE|\n\s+at /);

    assert.deepEqual(listing(card.dir), before, 'nothing written to the card');
    const snapshots = readdirSync(cliTmp).filter((name) => name.startsWith('cti-outbox-snapshot-'));
    assert.deepEqual(snapshots, [], 'every snapshot removed');
  });
}
