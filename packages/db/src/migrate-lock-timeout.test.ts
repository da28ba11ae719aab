import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { MIGRATIONS_DIR, MigrationError, migrate, migrationStatus } from './index.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

// Review r22 F10: a migration that needs ACCESS EXCLUSIVE on `scans` behind a long reader (an export's
// cursor transaction) queued every later query on `scans` behind it for as long as the reader lived.
// Real Postgres: a reader holds the table, the migration gives up after lock_timeout and tries again.

const ALTER = '9000_probe_column.sql';

type Rig = { db: TestDatabase; dir: string; migrator: Sql; reader: postgres.ReservedSql; readerPid: number };

async function rig(t: { after: (fn: () => Promise<void> | void) => void }): Promise<Rig> {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  const dir = mkdtempSync(join(tmpdir(), 'cti-db-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  writeFileSync(join(dir, ALTER), 'ALTER TABLE scans ADD COLUMN probe int;\n');
  const migrator = postgres(db.url, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: 'test-migrator' },
  });
  const readers = postgres(db.url, {
    max: 1,
    onnotice: () => {},
    connection: { application_name: 'test-export' },
  });
  t.after(() => Promise.all([migrator.end(), readers.end()]).then(() => {}));
  // The export's transaction: it has read `scans` and keeps its ACCESS SHARE lock until it ends.
  const reader = await readers.reserve();
  await reader.unsafe('BEGIN');
  await reader`SELECT count(*) FROM scans`;
  const [row] = await reader<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  return { db, dir, migrator, reader, readerPid: row!.pid };
}

test('behind a long reader: each attempt gives up after lock_timeout, the API reads meanwhile, then it fails naming the holder', async (t) => {
  const { db, dir, migrator, reader, readerPid } = await rig(t);
  const lines: string[] = [];
  let migrationDone = false;
  const run = migrate({
    sql: migrator,
    dir,
    log: (m) => lines.push(m),
    lockTimeoutMs: 400,
    lockAttempts: 3,
    lockRetryDelayMs: 200,
  }).finally(() => {
    migrationDone = true;
  });
  run.catch(() => {});
  await waitUntil(() => lines.some((l) => l.startsWith(`migrations: ${ALTER} waits for`)));
  // A query of the live API, queued behind the migration's lock request: it runs once that attempt
  // gives up, long before the migration has used up its attempts.
  await db.sql`SELECT count(*) FROM scans`;
  assert.equal(migrationDone, false, 'the query waited for the whole migration');

  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof MigrationError);
    assert.equal(
      err.message,
      `${ALTER} was not applied: 3 attempts each waited lock_timeout 400 ms for AccessExclusiveLock on scans, ` +
        `held by pid ${readerPid} (application_name "test-export", idle in transaction, transaction open ${xactAge(err.message)} s). ` +
        'Let that transaction finish (an export in progress holds one for up to CTI_EXPORT_MAX_DURATION_S) ' +
        `or end it (SELECT pg_terminate_backend(${readerPid})), then migrate again; ` +
        'CTI_MIGRATE_LOCK_TIMEOUT_MS sets the wait of each attempt',
    );
    return true;
  });
  const retries = lines.filter((l) =>
    l.startsWith(`migrations: ${ALTER} rolled back after waiting lock_timeout 400 ms`),
  );
  assert.equal(retries.length, 2, lines.join('\n'));
  assert.match(
    retries[0]!,
    new RegExp(`for AccessExclusiveLock on scans, held by pid ${readerPid} .*; trying again in 200 ms$`),
  );
  assert.match(retries[1]!, /trying again in 400 ms$/);
  assert.ok(lines.includes(`migrations: applying ${ALTER} (attempt 3 of 3)`), lines.join('\n'));
  // Nothing of it was applied; it is still pending, and the reader was never disturbed.
  assert.deepEqual((await migrationStatus(db.sql, { dir })).pending, [ALTER]);
  const [column] =
    await db.sql`SELECT 1 FROM information_schema.columns WHERE table_name = 'scans' AND column_name = 'probe'`;
  assert.equal(column, undefined);
  await reader.unsafe('COMMIT');
  reader.release();
});

test('behind a reader that ends within the retries: the migration is applied', async (t) => {
  const { db, dir, migrator, reader } = await rig(t);
  const lines: string[] = [];
  const run = migrate({
    sql: migrator,
    dir,
    log: (m) => lines.push(m),
    lockTimeoutMs: 300,
    lockAttempts: 4,
    lockRetryDelayMs: 200,
  });
  await waitUntil(() => lines.some((l) => l.includes('trying again')));
  await reader.unsafe('COMMIT');
  reader.release();
  assert.deepEqual(await run, { applied: [ALTER] });
  assert.ok(lines.includes(`migrations: applying ${ALTER} (attempt 2 of 4)`), lines.join('\n'));
  const [column] =
    await db.sql`SELECT 1 AS found FROM information_schema.columns WHERE table_name = 'scans' AND column_name = 'probe'`;
  assert.deepEqual({ ...column }, { found: 1 });
});

/** The transaction age the message reports (it depends on timing; its presence is what is checked). */
function xactAge(message: string): string {
  return /transaction open (\d+) s/.exec(message)?.[1] ?? 'missing';
}

async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(done(), 'timed out');
}
