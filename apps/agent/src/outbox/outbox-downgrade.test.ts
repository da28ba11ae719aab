import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { acquireOwnerLock } from '../startup/owner-lock.ts';
import { fakeCapture, outboxIn, outboxTempDir } from '../test-support/outbox-fixtures.ts';
import { RELEASED_V1 } from '../test-support/outbox-v1-schema.ts';
import { runAgentCli, writeOutboxOnlyConfig } from '../test-support/run-cli.ts';
import { PARKED_AT } from './outbox-store.ts';

const cleanups: Array<() => unknown> = [];
after(() => {
  for (const fn of cleanups.reverse()) fn();
});

/** The shape of a schema as SQLite reports it: tables with their columns, indexes, triggers. */
function schemaOf(db: Database.Database) {
  const names = (type: string) =>
    (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = ? ORDER BY name`).pluck().all(type) as string[]
    ).filter((n) => !n.startsWith('sqlite_'));
  return {
    tables: Object.fromEntries(names('table').map((t) => [t, db.pragma(`table_info(${t})`)])),
    indexes: names('index'),
    triggers: names('trigger'),
  };
}

test('`cti-agent outbox downgrade`: refused while a run owns the data dir; then a v2 outbox becomes the v1 an older agent reads, discarded captures quarantined again, nothing lost (review r8 F8)', {
  timeout: 60_000,
}, async () => {
  const t = outboxTempDir('outbox-downgrade-');
  cleanups.push(t.remove);
  const dataDir = join(t.dir, 'data');
  const config = join(t.dir, 'agent.json');
  writeOutboxOnlyConfig(config, dataDir);
  const outbox = outboxIn(dataDir, { clock: () => Date.UTC(2026, 11, 6, 12) });
  for (const n of [1, 2, 3, 4, 5, 6]) await outbox.commitCapture(fakeCapture(n));
  for (const id of ['cap_t00001', 'cap_t00006']) {
    const names = outbox.show(id)!.objects.map((o) => o.name);
    // Each step marks the previous object uploaded and starts the next; the last marks meta.json.
    for (const [i, name] of [...names, null].entries())
      outbox.store.advance(id, names[i - 1] ?? null, name, 1);
  }
  outbox.store.deleteCapture('cap_t00006'); // retention: AUTOINCREMENT's high-water mark is above max(seq)
  for (const n of [3, 4, 5])
    outbox.store.quarantine(`cap_t0000${n}`, 'image.png', 'image.png: IntegrityError', 1);
  outbox.discard('cap_t00004', { reason: 'bit flip; salvaged' });
  outbox.discard('cap_t00005', { deleteFiles: true });
  const objectsBefore = outbox.store.objectsOf('cap_t00004').length * 5;
  outbox.close();

  const cli = (...args: string[]) => runAgentCli(['--config', config, 'outbox', ...args]);
  const lock = acquireOwnerLock(dataDir, 4242); // as a running service holds it
  const refused = await cli('downgrade');
  lock.release();
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^cti-agent: another cti-agent run owns .* \(pid 4242\); nothing was opened/);
  const dbPath = join(dataDir, 'outbox.db');
  const version = () => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return db.pragma('user_version', { simple: true });
    } finally {
      db.close();
    }
  };
  assert.equal(version(), 2, 'untouched while owned');

  const done = await cli('downgrade');
  assert.equal(done.code, 0, done.stderr);
  assert.equal(
    done.stdout,
    `outbox database ${dbPath} converted to schema version 1: 5 captures kept, 2 discarded captures quarantined again (their files untouched). Install the older cti-agent package before the service starts again: this agent would upgrade it back at its start\n`,
  );

  // The file has exactly the schema the older release makes, and its rows.
  const v1 = new Database(':memory:');
  v1.exec(RELEASED_V1);
  const db = new Database(dbPath);
  cleanups.push(() => db.open && db.close());
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.deepEqual(schemaOf(db), schemaOf(v1));
  assert.deepEqual(db.pragma('foreign_key_check'), []);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  const rows = db
    .prepare('SELECT capture_id, state, quarantine_reason FROM captures ORDER BY seq')
    .all() as Array<{
    capture_id: string;
    state: string;
    quarantine_reason: string | null;
  }>;
  assert.deepEqual(
    rows.map((r) => `${r.capture_id} ${r.state}`),
    [
      'cap_t00001 uploaded',
      'cap_t00002 pending',
      'cap_t00003 quarantined',
      'cap_t00004 quarantined',
      'cap_t00005 quarantined',
    ],
  );
  assert.equal(rows[2]!.quarantine_reason, 'image.png: IntegrityError');
  assert.equal(
    rows[3]!.quarantine_reason,
    `image.png: IntegrityError; discarded 2026-12-06T12:00:00.000Z: bit flip; salvaged; files in ${join(dataDir, 'spool', 'discarded', 'cap_t00004')} (given up; outbox downgraded to schema v1)`,
  );
  assert.match(
    rows[4]!.quarantine_reason ?? '',
    /; discarded 2026-12-06T12:00:00\.000Z; files deleted \(given up/,
  );
  assert.equal(db.prepare('SELECT count(*) FROM objects').pluck().get(), objectsBefore);
  assert.equal(
    db.prepare('SELECT count(*) FROM objects WHERE next_attempt_at = ?').pluck().get(PARKED_AT),
    0,
  );
  assert.equal(db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'captures'`).pluck().get(), 6);
  assert.throws(
    () => db.prepare(`UPDATE captures SET state = 'discarded' WHERE capture_id = 'cap_t00003'`).run(),
    { code: 'SQLITE_CONSTRAINT_CHECK' },
  );
  db.close();

  assert.match((await cli('downgrade')).stdout, /is already schema version 1: nothing to do\n$/);
  // Re-installing this release upgrades it again, with every capture.
  const again = outboxIn(dataDir);
  cleanups.push(again.close);
  assert.deepEqual([again.summary().pendingCaptures, again.summary().quarantined], [1, 3]);
  assert.equal(version(), 2);
});
