import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { LOCK_MIGRATE, LOCK_NAMESPACE } from './advisory-locks.ts';
import { listMigrations, MIGRATIONS_DIR, MigrationError, migrate, migrationStatus } from './index.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

const ALL = listMigrations().map((m) => m.file);
const FIRST = ALL[0]!;

/** A fresh database with the extensions but no migrations, closed after the test. */
async function emptyDatabase(t: { after: (fn: () => Promise<void>) => void }): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  return db;
}

/** A private copy of the real migrations folder that a test may edit. */
function migrationsCopy(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cti-db-migrations-'));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function appliedRows(sql: Sql) {
  return sql<{ version: number; name: string; checksum: string }[]>`
    SELECT version, name, checksum FROM schema_migrations ORDER BY version`;
}

describe('migrate', () => {
  test('applies every migration once and records its checksum; a second run does nothing', async (t) => {
    const { sql } = await emptyDatabase(t);
    const lines: string[] = [];
    assert.deepEqual(await migrate({ sql, log: (m) => lines.push(m) }), { applied: ALL });
    assert.deepEqual(await migrate({ sql }), { applied: [] });
    const rows = await appliedRows(sql);
    assert.deepEqual(
      rows.map((r) => [r.name, r.checksum]),
      listMigrations().map((m) => [m.file, m.checksum]),
    );
    // Each migration's start is logged, not only its end: a long one is visibly in progress.
    assert.equal(lines[0], `migrations: applying ${FIRST}`);
    assert.match(lines[1]!, new RegExp(`^migrations: applied ${FIRST} in \\d+ ms$`));
    assert.equal(lines.filter((l) => l.startsWith('migrations: applying ')).length, ALL.length);
  });

  test('two runners at once: the second waits for the lock, then finds nothing to do', async (t) => {
    const { url, sql } = await emptyDatabase(t);
    const clients = [
      postgres(url, { max: 1, onnotice: () => {} }),
      postgres(url, { max: 1, onnotice: () => {} }),
    ];
    t.after(() => Promise.all(clients.map((c) => c.end())));
    const holder = await sql.reserve();
    await holder`SELECT pg_advisory_lock(${LOCK_NAMESPACE}, ${LOCK_MIGRATE})`;
    const lines: string[][] = [[], []];
    const runs = clients.map((c, i) => migrate({ sql: c, log: (m) => lines[i]!.push(m) }));
    await waitForLockWaiters(sql, 2);
    // Each says at once why it does nothing (review r22 F1: a replica waited in silence).
    assert.deepEqual(lines, [
      ['migrations: another process is migrating: waiting for its lock'],
      ['migrations: another process is migrating: waiting for its lock'],
    ]);
    await holder`SELECT pg_advisory_unlock(${LOCK_NAMESPACE}, ${LOCK_MIGRATE})`;
    holder.release();
    const results = await Promise.all(runs);
    const appliedLists = results.map((r) => r.applied).sort((a, b) => a.length - b.length);
    assert.deepEqual(appliedLists, [[], ALL]);
    assert.equal((await appliedRows(sql)).length, ALL.length);
  });

  test('refuses an edited, already-applied migration and names the file', async (t) => {
    const { sql } = await emptyDatabase(t);
    const dir = migrationsCopy(t);
    await migrate({ sql, dir });
    writeFileSync(join(dir, FIRST), `${listMigrations()[0]!.sql}\n-- an innocent-looking edit\n`);
    await assert.rejects(migrate({ sql, dir }), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.match(err.message, new RegExp(`${FIRST} was edited after it was applied`));
      return true;
    });
    const status = await migrationStatus(sql, { dir });
    assert.equal(status.current, false);
    assert.match(status.problems.join('\n'), /checksum in database/);
  });

  test('reports a migration applied in the database but missing on disk', async (t) => {
    const { sql } = await emptyDatabase(t);
    const dir = migrationsCopy(t);
    writeFileSync(join(dir, '9000_extra.sql'), 'CREATE TABLE extra(id int);');
    await migrate({ sql, dir });
    unlinkSync(join(dir, '9000_extra.sql'));
    const status = await migrationStatus(sql, { dir });
    assert.deepEqual(status.pending, []);
    assert.deepEqual(status.unknown, ['9000_extra.sql']);
    assert.equal(status.current, false);
    assert.match(
      status.problems[0] ?? '',
      /^9000_extra\.sql is applied in the database .* but missing on disk/,
    );
    await assert.rejects(migrate({ sql, dir }), /9000_extra\.sql is applied in the database/);
  });

  test('a new migration numbered below an applied one is refused until renumbered', async (t) => {
    const { sql } = await emptyDatabase(t);
    const dir = migrationsCopy(t);
    writeFileSync(join(dir, '9000_later.sql'), 'CREATE TABLE later(id int);');
    await migrate({ sql, dir });
    writeFileSync(join(dir, '8000_late.sql'), 'CREATE TABLE late(id int);');
    const status = await migrationStatus(sql, { dir });
    assert.deepEqual(status.pending, ['8000_late.sql']);
    assert.deepEqual(status.problems, [
      '8000_late.sql is pending but the newer migration 9000_later.sql is already applied; ' +
        'renumber 8000_late.sql after 9000_later.sql',
    ]);
    await assert.rejects(migrate({ sql, dir }), /8000_late\.sql is pending but the newer migration/);
    const [row] = await sql`SELECT to_regclass('late') AS t`;
    assert.equal(row?.t, null);
  });

  test('a failing migration rolls back all of its statements and names the file and line', async (t) => {
    const { sql } = await emptyDatabase(t);
    const dir = migrationsCopy(t);
    await migrate({ sql, dir });
    writeFileSync(join(dir, '9001_broken.sql'), 'CREATE TABLE half_done(id int);\n\nSELEC 1;\n');
    await assert.rejects(
      migrate({ sql, dir }),
      /^MigrationError: 9001_broken\.sql failed at line 3: syntax error/,
    );
    const [row] = await sql`SELECT to_regclass('half_done') AS t`;
    assert.equal(row?.t, null);
    assert.deepEqual((await migrationStatus(sql, { dir })).pending, ['9001_broken.sql']);
  });
});

async function waitForLockWaiters(sql: Sql, count: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND NOT granted AND objid = ${LOCK_MIGRATE}
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    if ((row?.n ?? 0) >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never saw ${count} runners waiting for the migration lock`);
}
