import assert from 'node:assert/strict';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createOutbox } from './outbox/outbox.ts';
import { ext4Skip, mountExt4Volume } from './test-support/ext4-volume.ts';
import { fakeCapture, outboxTempDir } from './test-support/outbox-fixtures.ts';
import { runAgentCli, writeOutboxOnlyConfig } from './test-support/run-cli.ts';
import { mountSmallVolume, tmpfsSkip } from './test-support/tmpfs.ts';

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

/** Every file under `dir` with its size and mtime: what must not change on a read-only card. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => join(e.parentPath, e.name))
    .map((path) => `${path} ${statSync(path).size} ${statSync(path).mtimeMs}`)
    .sort();
}

/**
 * An outbox as a running service leaves it when the card fails under it: 3 pending captures and a
 * quarantined one, all still in the `-wal` (copied while the connection is open, so no checkpoint
 * folded them into outbox.db).
 */
async function outboxOnCard(dataDir: string) {
  const t = outboxTempDir('cti-ro-card-src-');
  cleanups.push(t.remove);
  const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
  for (const n of [1, 2, 3, 4]) await outbox.commitCapture(fakeCapture(n));
  outbox.store.quarantine('cap_t00004', 'image.png', 'image.png: IntegrityError', Date.now());
  mkdirSync(dataDir);
  for (const name of ['outbox.db', 'outbox.db-wal']) cpSync(join(t.dir, name), join(dataDir, name));
  cpSync(t.spoolDir, join(dataDir, 'spool'), { recursive: true });
  outbox.close();
  assert.ok(statSync(join(dataDir, 'outbox.db-wal')).size > 0, 'the captures are in the -wal');
}

/** A volume holding the card's files, and how it turns read-only. */
const volumes: Array<{
  name: string;
  skip: string | false;
  mount: () => { dir: string; unmount(): void; readOnly(): void };
}> = [
  { name: 'tmpfs remounted read-only', skip: tmpfsSkip, mount: () => mountSmallVolume('8m') },
  {
    name: 'ext4 card the kernel made read-only (emergency_ro)',
    skip: ext4Skip,
    mount: () => {
      const card = mountExt4Volume(16);
      return { dir: card.dir, unmount: card.unmount, readOnly: card.failReadOnly };
    },
  },
];

for (const volume of volumes) {
  test(`a card remounted read-only (${volume.name}): status, outbox list, show and export read a snapshot and say so; nothing is written to the card (review r8 F6)`, {
    skip: volume.skip,
    timeout: 120_000,
  }, async () => {
    const card = volume.mount();
    cleanups.push(card.unmount);
    const dataDir = join(card.dir, 'cti');
    await outboxOnCard(dataDir);
    const dir = mkdtempSync(join(tmpdir(), 'cti-ro-card-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'agent.json');
    writeOutboxOnlyConfig(config, dataDir, { outbox: { min_free_mb: 1 } });
    card.readOnly();
    const before = listing(card.dir);
    // The CLI's own temp directory, to see that the snapshot is removed afterwards.
    const cliTmp = join(dir, 'tmp');
    mkdirSync(cliTmp);
    const env = { ...process.env, TMPDIR: cliTmp };
    const cli = (...args: string[]) => runAgentCli(['--config', config, ...args], { env });
    const said =
      /^cti-agent: the data volume holding .*outbox\.db is read-only .*: this is a snapshot copied from it, nothing on it was changed\. Fix: export the pending captures .* then replace the card/;

    const status = await cli('status');
    assert.equal(status.code, 1, status.stderr); // 1: the service is not running
    const offline = JSON.parse(status.stdout);
    assert.deepEqual([offline.outbox.pendingCaptures, offline.outbox.quarantined], [3, 1]);
    assert.match(`cti-agent: ${offline.outboxSnapshot}`, said);

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

    assert.deepEqual(listing(card.dir), before, 'nothing written to the card');
    assert.deepEqual(readdirSync(cliTmp), [], 'every snapshot removed');
  });
}
