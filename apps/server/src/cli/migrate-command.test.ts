import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listMigrations } from '@cti/db';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { SOURCE_NODE_ARGS } from '../test-helpers.ts';

// The real program, spawned: `cti-server migrate [status]` is the image's one-off migration job
// (review r22 F2: the documented `cti-db migrate` could not be run from the image).

const MAIN = new URL('../main.ts', import.meta.url).pathname;
const ALL = listMigrations().map((m) => m.file);
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase({ migrated: false });
});
after(() => db.drop());

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [...SOURCE_NODE_ARGS, MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('migrate status → migrate → migrate → migrate status (--status): the output and exit codes of cti-db', () => {
  const env = { DATABASE_URL: db.url };
  const before = run(['migrate', 'status'], env);
  assert.equal(before.status, 1, before.stderr);
  assert.equal(before.stdout, `${ALL.map((f) => `pending  ${f}\n`).join('')}not current\n`);

  const first = run(['migrate'], env);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`^migrations: applying ${ALL[0]}\\n`));
  assert.match(
    first.stdout,
    new RegExp(`migrations: applied ${ALL.length}, database is at ${ALL.at(-1)}\\n$`),
  );
  const second = run(['migrate'], env);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout, `migrations: database is up to date (${ALL.length} applied)\n`);

  for (const args of [
    ['migrate', 'status'],
    ['migrate', '--status'],
  ]) {
    const after = run(args, env);
    assert.equal(after.status, 0, after.stderr);
    assert.equal(after.stdout, `${ALL.map((f) => `applied  ${f}\n`).join('')}current\n`);
  }
});

test('a database migrated by a newer release: migrate refuses with exit 1, status names it', async () => {
  const newer = await createTestDatabase();
  try {
    await newer.sql`
      INSERT INTO schema_migrations(version, name, checksum) VALUES (9999, '9999_from_a_newer_release.sql', ${'a'.repeat(64)})`;
    const migrate = run(['migrate'], { DATABASE_URL: newer.url });
    assert.equal(migrate.status, 1);
    assert.match(
      migrate.stderr,
      /^cti-server migrate: 9999_from_a_newer_release\.sql is applied in the database .* but missing on disk; this code is older than the database schema\n$/,
    );
    const status = run(['migrate', 'status'], { DATABASE_URL: newer.url });
    assert.equal(status.status, 1);
    assert.match(status.stdout, /^problem {2}9999_from_a_newer_release\.sql is applied/m);
  } finally {
    await newer.drop();
  }
});

test('DATABASE_URL from the file DATABASE_URL_FILE names, as serve and worker take it; both set or unreadable: exit 2 naming them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-migrate-secret-'));
  try {
    const file = join(dir, 'database_url');
    writeFileSync(file, `${db.url}\n`);
    const fromFile = run(['migrate', 'status'], { DATABASE_URL_FILE: file });
    assert.ok(fromFile.status === 0 || fromFile.status === 1, fromFile.stderr);
    assert.match(fromFile.stdout, /current\n$/);
    const both = run(['migrate'], { DATABASE_URL: db.url, DATABASE_URL_FILE: file });
    assert.equal(both.status, 2);
    assert.match(both.stderr, /^cti-server: DATABASE_URL and DATABASE_URL_FILE are both set/);
    const missing = run(['migrate'], { DATABASE_URL_FILE: join(dir, 'nope') });
    assert.equal(missing.status, 2);
    assert.match(
      missing.stderr,
      /^cti-server: DATABASE_URL_FILE names a file that cannot be read: .*nope \(ENOENT\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad usage, DATABASE_URL unset or unreachable, a bad lock timeout: exit 2 with one line', () => {
  const extra = run(['migrate', 'now'], { DATABASE_URL: db.url });
  assert.equal(extra.status, 2);
  assert.match(
    extra.stderr,
    /^cti-server migrate: unexpected arguments "now"\nusage: cti-server migrate \[status\]/,
  );
  const unset = run(['migrate'], {});
  assert.equal(unset.status, 2);
  assert.match(unset.stderr, /^cti-server: DATABASE_URL is not set/);
  const unreachable = run(['migrate', 'status'], { DATABASE_URL: 'postgres://cti:secret@127.0.0.1:1/cti' });
  assert.equal(unreachable.status, 2);
  assert.match(
    unreachable.stderr,
    /^cti-server: cannot connect to DATABASE_URL=postgres:\/\/cti:\*\*\*@127\.0\.0\.1:1\/cti: /,
  );
  const timeout = run(['migrate'], { DATABASE_URL: db.url, CTI_MIGRATE_LOCK_TIMEOUT_MS: '-1' });
  assert.equal(timeout.status, 2);
  assert.match(
    timeout.stderr,
    /^cti-server: CTI_MIGRATE_LOCK_TIMEOUT_MS must be an integer from 0 to 600000/,
  );
});
