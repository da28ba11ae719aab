import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { testDatabaseNames } from './database-names.ts';
import { listMigrations } from './index.ts';
import { createTestDatabase } from './testing.ts';

const CLI = new URL('./cli.ts', import.meta.url).pathname;
const ALL = listMigrations().map((m) => m.file);

type Run = { code: number | null; stdout: string; stderr: string };

function cli(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('status → migrate → migrate → status on an empty database', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const env = { DATABASE_URL: db.url };

  const before = await cli(['status'], env);
  assert.equal(before.code, 1);
  assert.equal(before.stdout, `${ALL.map((f) => `pending  ${f}\n`).join('')}not current\n`);

  const first = await cli(['migrate'], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`applied ${ALL.length}, database is at ${ALL.at(-1)}`));
  const second = await cli(['migrate'], env);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, `migrations: database is up to date (${ALL.length} applied)\n`);

  const after = await cli(['status'], env);
  assert.equal(after.code, 0);
  assert.equal(after.stdout, `${ALL.map((f) => `applied  ${f}\n`).join('')}current\n`);
});

test('an edited applied migration: migrate refuses with exit 1 naming the file, status lists it', async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  await db.sql`UPDATE schema_migrations SET checksum = ${'0'.repeat(64)} WHERE version = 1`;
  const env = { DATABASE_URL: db.url };

  const migrate = await cli(['migrate'], env);
  assert.equal(migrate.code, 1);
  assert.match(migrate.stderr, /^cti-db migrate: 0001_spec_schema\.sql was edited after it was applied/);
  const status = await cli(['status'], env);
  assert.equal(status.code, 1);
  assert.match(status.stdout, /^problem {2}0001_spec_schema\.sql was edited after it was applied/m);
  assert.match(status.stdout, /not current\n$/);
});

test('usage and configuration errors exit 2 with a message', async () => {
  const usage = await cli(['frobnicate'], {});
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^cti-db: unknown command "frobnicate"\nusage: cti-db <command>/);
  const option = await cli(['--frobnicate'], {});
  assert.equal(option.code, 2);
  assert.match(option.stderr, /^cti-db: unknown option "--frobnicate"\nusage: cti-db <command>/);
  const extra = await cli(['status', 'now'], {});
  assert.equal(extra.code, 2);
  assert.match(extra.stderr, /^cti-db: unexpected argument "now"\nusage: cti-db <command>/);
  const none = await cli([], {});
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^usage: cti-db <command>/);

  // --help is a request, not a mistake: usage on stdout, exit 0.
  for (const flag of ['--help', '-h', 'help', 'migrate --help']) {
    const help = await cli(flag.split(' '), { DATABASE_URL: undefined });
    assert.equal(help.code, 0, flag);
    assert.match(help.stdout, /^usage: cti-db <command>/, flag);
    assert.equal(help.stderr, '', flag);
  }

  const unset = await cli(['migrate'], { DATABASE_URL: undefined });
  assert.equal(unset.code, 2);
  assert.match(unset.stderr, /DATABASE_URL is not set/);

  const lockTimeout = await cli(['migrate'], {
    DATABASE_URL: 'postgres://cti:secret@127.0.0.1:1/cti',
    CTI_MIGRATE_LOCK_TIMEOUT_MS: '5s',
  });
  assert.equal(lockTimeout.code, 2);
  assert.equal(
    lockTimeout.stderr,
    'cti-db: CTI_MIGRATE_LOCK_TIMEOUT_MS must be an integer from 0 to 600000 (milliseconds; 0 = wait for ever), got "5s"\n',
  );

  const unreachable = await cli(['status'], { DATABASE_URL: 'postgres://cti:secret@127.0.0.1:1/cti' });
  assert.equal(unreachable.code, 2);
  assert.match(
    unreachable.stderr,
    /cannot connect to DATABASE_URL=postgres:\/\/cti:\*\*\*@127\.0\.0\.1:1\/cti: .*ECONNREFUSED/,
  );

  // A URL postgres.js cannot parse: the message names DATABASE_URL (it said only "Invalid URL").
  const malformed = await cli(['status'], { DATABASE_URL: 'postgres://cti:secret@127.0.0.1:99999/cti' });
  assert.equal(malformed.code, 2);
  assert.match(
    malformed.stderr,
    /^cti-db: DATABASE_URL=postgres:\/\/cti:\*\*\*@127\.0\.0\.1:99999\/cti is not a usable URL \(Invalid URL\); expected postgres:\/\//,
  );
});

test('drop-test-databases removes the test databases of CTI_TEST_DATABASE_URL’s base only', async (t) => {
  const base = await createTestDatabase({ migrated: false });
  t.after(() => base.drop());
  await base.sql.end();
  const leftover = await createTestDatabase({ baseUrl: base.url, migrated: false });
  await leftover.sql.end();
  const survivor = await createTestDatabase({ migrated: false });
  t.after(() => survivor.drop());

  const run = await cli(['drop-test-databases'], { CTI_TEST_DATABASE_URL: base.url });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, `dropped 1 test database(s): ${leftover.name}\n`);
  const rows = await survivor.sql`
    SELECT datname FROM pg_database
    WHERE starts_with(datname, ${testDatabaseNames(base.name).clonePrefix}) OR datname = ${survivor.name}`;
  assert.deepEqual(
    rows.map((r) => r.datname),
    [survivor.name],
  );
});
