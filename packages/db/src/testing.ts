import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import { databaseName, parseDatabaseUrl, quoteIdent, redactUrl, withDatabase } from './database-url.ts';
import { listMigrations } from './migration-files.ts';
import {
  CLONE_PREFIX,
  clonePrefixFor,
  connect,
  copyDatabase,
  ensureTemplate,
  pgCode,
  TEMPLATE_PREFIX,
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
 * parallel test processes. Names start with `cti_test_`; `dropAllTestDatabases()` removes leftovers.
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
}: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const base = requireBaseUrl(baseUrl);
  const admin = await openAdmin(base, adminDatabase);
  try {
    const baseDb = databaseName(base);
    const source = migrated ? await templateFor(admin, base, baseDb) : baseDb;
    const name = `${migrated ? clonePrefixFor(source) : `${CLONE_PREFIX}base_`}${process.pid}_${randomBytes(4).toString('hex')}`;
    await copyDatabase(admin, name, source);
    const url = withDatabase(base, name);
    const sql = connect(url, max);
    return { sql, url, name, drop: dropper(sql, base, adminDatabase, name) };
  } finally {
    await admin.end({ timeout: 5 });
  }
}

async function templateFor(admin: Sql, base: URL, baseDb: string): Promise<string> {
  const migrations = listMigrations();
  try {
    return await ensureTemplate({ admin, urlFor: (db) => withDatabase(base, db), baseDb, migrations });
  } catch (err) {
    if (pgCode(err) !== '3D000') throw err;
    throw new Error(
      `The base database ${baseDb} named by ${SETTING} does not exist; create it with \`bash scripts/setup.sh\``,
      { cause: err },
    );
  }
}

function dropper(sql: Sql, base: URL, adminDatabase: string, name: string): () => Promise<void> {
  return async () => {
    await sql.end({ timeout: 5 });
    const admin = connect(withDatabase(base, adminDatabase));
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  };
}

/**
 * Drops every database this helper ever created on the server (clones and templates), e.g. after
 * crashed test runs. Do not call while tests are running: their databases are dropped too.
 */
export async function dropAllTestDatabases({
  baseUrl = process.env[SETTING],
  adminDatabase = 'postgres',
}: Pick<TestDatabaseOptions, 'baseUrl' | 'adminDatabase'> = {}): Promise<string[]> {
  const admin = await openAdmin(requireBaseUrl(baseUrl), adminDatabase);
  try {
    return await withTemplateLock(admin, async () => {
      const rows = await admin<{ datname: string }[]>`
        SELECT datname FROM pg_database
        WHERE starts_with(datname, ${CLONE_PREFIX}) OR starts_with(datname, ${TEMPLATE_PREFIX})
        ORDER BY datname`;
      for (const { datname } of rows) {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
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
