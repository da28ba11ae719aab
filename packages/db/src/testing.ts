import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from 'postgres';
import { type TestDatabaseNames, testDatabaseNames } from './database-names.ts';
import { databaseName, parseDatabaseUrl, quoteIdent, redactUrl, withDatabase } from './database-url.ts';
import { listMigrations } from './migration-files.ts';
import {
  connect,
  copyDatabase,
  ensureTemplate,
  markTestDatabase,
  pgCode,
  withTemplateLock,
} from './template-database.ts';

export type TestDatabaseOptions = {
  /** Server + base database (with the extensions) to clone from. Default: CTI_TEST_DATABASE_URL. */
  baseUrl?: string;
  /** false: clone the bare base database (extensions only, no migrations), to test migrating. */
  migrated?: boolean;
  /** Pool size of the returned client. */
  max?: number;
  /** Database for admin statements and the template lock; any database but the base works. */
  adminDatabase?: string;
  /**
   * true (the default for tests): the database's sessions commit without waiting for the WAL to reach
   * the disk (`ALTER DATABASE … SET synchronous_commit = off`, so also the servers and workers a test
   * spawns on it). A commit is as visible and as ordered as before; only a crash of the Postgres server
   * itself could lose the last fraction of a second of them, which no test does. ~2.7 → ~1 ms a commit on
   * a CI VM's disk. Benchmarks pass false: they measure commits as production makes them.
   */
  asyncCommit?: boolean;
};

export type TestDatabase = {
  /** postgres.js client for the new database (NOTICEs are silenced). */
  sql: Sql;
  url: string;
  name: string;
  /** Closes `sql` and drops the database; safe to call twice. */
  drop: () => Promise<void>;
};

const SETTING = 'CTI_TEST_DATABASE_URL';

/**
 * A fresh database for one test file, copied (CREATE DATABASE … TEMPLATE, ~0.1 s) from a template
 * that holds the real migrations. The template is built once per migration set, race-free across
 * parallel test processes. Names start with `cti_test_` (see database-names.ts); `dropAllTestDatabases()` removes leftovers.
 *
 * @example
 * const db = await createTestDatabase();
 * after(() => db.drop());
 * await db.sql`INSERT INTO farms(name) VALUES ('North')`;
 */
export async function createTestDatabase({
  baseUrl = process.env[SETTING],
  migrated = true,
  max = 5,
  adminDatabase = 'postgres',
  asyncCommit = true,
}: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const base = requireBaseUrl(baseUrl);
  const admin = await openAdmin(base, adminDatabase);
  try {
    const name = migrated ? await cloneTemplate(admin, base) : await cloneBase(admin, base);
    if (asyncCommit) await admin.unsafe(`ALTER DATABASE ${quoteIdent(name)} SET synchronous_commit = off`);
    const url = withDatabase(base, name);
    const sql = connect(url, max);
    return { sql, url, name, drop: dropper(sql, base, adminDatabase, name) };
  } finally {
    await admin.end({ timeout: 5 });
  }
}

async function cloneBase(admin: Sql, base: URL): Promise<string> {
  const baseDb = databaseName(base);
  const name = testDatabaseNames(baseDb).bareClone();
  await copyDatabase(admin, name, baseDb).catch((err: unknown) => {
    throw pgCode(err) === '3D000' ? missingBase(baseDb, err) : err;
  });
  await markTestDatabase(admin, name, baseDb);
  return name;
}

// Migration files are re-read on every call, so a migration added mid-run gets a new template.
// If the template vanishes between check and copy (a run with other migrations dropped it as stale),
// it is rebuilt once.
async function cloneTemplate(admin: Sql, base: URL, attempt = 1): Promise<string> {
  const baseDb = databaseName(base);
  const names = testDatabaseNames(baseDb);
  const template = await templateFor(admin, base, names);
  const name = names.clone(template);
  try {
    await copyDatabase(admin, name, template);
    await markTestDatabase(admin, name, baseDb);
    return name;
  } catch (err) {
    if (pgCode(err) !== '3D000' || attempt > 1) throw err;
    return cloneTemplate(admin, base, attempt + 1);
  }
}

async function templateFor(admin: Sql, base: URL, names: TestDatabaseNames): Promise<string> {
  const baseDb = databaseName(base);
  const migrations = listMigrations();
  try {
    return await ensureTemplate({ admin, urlFor: (db) => withDatabase(base, db), baseDb, names, migrations });
  } catch (err) {
    throw pgCode(err) === '3D000' ? missingBase(baseDb, err) : err;
  }
}

function missingBase(baseDb: string, cause: unknown): Error {
  return new Error(
    `The base database ${baseDb} named by ${SETTING} does not exist; create it with \`bash scripts/setup.sh\``,
    { cause },
  );
}

/**
 * DROP … WITH (FORCE) terminates the database's sessions, but only those this role may signal: when an
 * autovacuum worker (a superuser process) happens to be in the new database, Postgres refuses with
 * 42501. Autovacuum leaves within moments, so retry briefly instead of failing the test file.
 */
async function dropForced(admin: Sql, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      return;
    } catch (err) {
      if (pgCode(err) !== '42501' || attempt >= 50) throw err;
      await sleep(100);
    }
  }
}

function dropper(sql: Sql, base: URL, adminDatabase: string, name: string): () => Promise<void> {
  return async () => {
    await sql.end({ timeout: 5 });
    const admin = connect(withDatabase(base, adminDatabase));
    try {
      await dropForced(admin, name);
    } finally {
      await admin.end({ timeout: 5 });
    }
  };
}

/**
 * Drops every database this helper created for the base database (its clones and templates), e.g.
 * leftovers of crashed test runs; returns their names. Do not call while tests using that base run:
 * their databases are dropped too.
 */
export async function dropAllTestDatabases({
  baseUrl = process.env[SETTING],
  adminDatabase = 'postgres',
}: Pick<TestDatabaseOptions, 'baseUrl' | 'adminDatabase'> = {}): Promise<string[]> {
  const base = requireBaseUrl(baseUrl);
  const names = testDatabaseNames(databaseName(base));
  const admin = await openAdmin(base, adminDatabase);
  try {
    return await withTemplateLock(admin, async () => {
      const rows = await admin<{ datname: string }[]>`
        SELECT datname FROM pg_database
        WHERE starts_with(datname, ${names.clonePrefix}) OR starts_with(datname, ${names.templatePrefix})
        ORDER BY datname`;
      for (const { datname } of rows) {
        await dropForced(admin, datname);
      }
      return rows.map((r) => r.datname);
    });
  } finally {
    await admin.end({ timeout: 5 });
  }
}

function requireBaseUrl(baseUrl: string | undefined): URL {
  if (!baseUrl) {
    throw new Error(
      `${SETTING} is not set. It names the Postgres base database tests clone from ` +
        `(e.g. postgres://cti:cti@127.0.0.1:5432/cti_base); run \`source scripts/lib/env.sh\` ` +
        `after \`bash scripts/setup.sh\`.`,
    );
  }
  return parseDatabaseUrl(baseUrl, SETTING);
}

async function openAdmin(base: URL, adminDatabase: string): Promise<Sql> {
  const url = withDatabase(base, adminDatabase);
  const admin = connect(url);
  try {
    await admin`SELECT 1`;
    return admin;
  } catch (err) {
    await admin.end({ timeout: 1 }).catch(() => {});
    throw new Error(
      `Cannot reach the test Postgres at ${redactUrl(url)} (derived from ${SETTING}=${redactUrl(base.href)}): ` +
        `${(err as Error).message}. Start Postgres and create the role and databases with \`bash scripts/setup.sh\`.`,
      { cause: err },
    );
  }
}
