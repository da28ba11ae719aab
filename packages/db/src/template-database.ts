import { setTimeout as sleep } from 'node:timers/promises';
import postgres, { type Sql } from 'postgres';
import { LOCK_NAMESPACE, LOCK_TEST_TEMPLATE } from './advisory-locks.ts';
import type { TestDatabaseNames } from './database-names.ts';
import { quoteIdent, quoteLiteral } from './database-url.ts';
import { migrate } from './migrate.ts';
import type { Migration } from './migration-files.ts';

/**
 * Every database the helper creates gets this comment plus its base database's name, so leftovers
 * whose base database is gone (e.g. a test's private base) can be recognised and dropped.
 */
const MARK = 'cti-db test database; base=';

export async function markTestDatabase(admin: Sql, name: string, baseDb: string): Promise<void> {
  await admin.unsafe(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(MARK + baseDb)}`);
}

/** Sessions of the test helper show up in pg_stat_activity under this name (with the process id). */
export const APPLICATION_NAME = 'cti-db/testing';

/**
 * Quiet client (migrations emit NOTICEs such as "extension already exists" that would clutter test
 * output), named so that a session blocking a copy can be traced to its process.
 */
export function connect(url: string, max = 1): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    connection: { application_name: `${APPLICATION_NAME} pid ${process.pid}` },
  });
}

export type EnsureTemplateOptions = {
  admin: Sql;
  /** Builds a server URL for a database name (same host and credentials). */
  urlFor: (db: string) => string;
  baseDb: string;
  names: TestDatabaseNames;
  migrations: readonly Migration[];
};

/**
 * Returns the name of the migrated template, building it once if needed. The template only appears
 * under its final name when complete (built as `<name>_build`, then renamed), so the fast path needs
 * no lock; builders serialise on a session advisory lock in the admin database.
 */
export async function ensureTemplate(opts: EnsureTemplateOptions): Promise<string> {
  const name = opts.names.template(opts.migrations);
  if (await databaseExists(opts.admin, name)) return name;
  await withTemplateLock(opts.admin, async () => {
    if (await databaseExists(opts.admin, name)) return;
    await dropStaleTestDatabases(opts.admin, opts.names, name);
    await buildTemplate(opts, name);
  });
  return name;
}

export async function withTemplateLock<T>(admin: Sql, fn: () => Promise<T>): Promise<T> {
  await admin`SELECT pg_advisory_lock(${LOCK_NAMESPACE}, ${LOCK_TEST_TEMPLATE})`;
  try {
    return await fn();
  } finally {
    await admin`SELECT pg_advisory_unlock(${LOCK_NAMESPACE}, ${LOCK_TEST_TEMPLATE})`;
  }
}

async function buildTemplate({ admin, urlFor, baseDb }: EnsureTemplateOptions, name: string): Promise<void> {
  const building = `${name}_build`;
  await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(building)}`);
  await copyDatabase(admin, building, baseDb);
  try {
    await markTestDatabase(admin, building, baseDb);
    const sql = connect(urlFor(building));
    try {
      await migrate({ sql });
    } finally {
      await sql.end({ timeout: 5 });
    }
    // Nobody may connect to a template: CREATE DATABASE … TEMPLATE fails while it has sessions.
    await retryWhileInUse(() =>
      admin.unsafe(`ALTER DATABASE ${quoteIdent(building)} ALLOW_CONNECTIONS false`),
    );
    await retryWhileInUse(() =>
      admin.unsafe(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`),
    );
  } catch (err) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`).catch(() => {});
    throw err;
  }
}

/** CREATE DATABASE name TEMPLATE source (~0.1 s), retried while the source briefly has sessions. */
export async function copyDatabase(admin: Sql, name: string, source: string): Promise<void> {
  try {
    await retryWhileInUse(() =>
      admin.unsafe(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(source)}`),
    );
  } catch (err) {
    if (pgCode(err) !== '55006') throw err;
    const sessions = await admin<{ application_name: string; pid: number }[]>`
      SELECT application_name, pid FROM pg_stat_activity WHERE datname = ${source}`;
    const who = sessions.map((s) => `pid ${s.pid} (${s.application_name || 'no application_name'})`);
    throw new Error(
      `Cannot copy database ${source}: other sessions stay connected to it (${who.join(', ') || 'none left'}). ` +
        `Tests must not connect to the base database directly; use createTestDatabase().`,
      { cause: err },
    );
  }
}

/**
 * Drops this base's templates of other migration sets and their unused clones (never bare clones,
 * which belong to no template), and any test database whose base database no longer exists.
 * Databases still in use by a running test are skipped (plain DROP fails with 55006), so
 * concurrent runs are not disturbed.
 */
async function dropStaleTestDatabases(admin: Sql, names: TestDatabaseNames, current: string): Promise<void> {
  const rows = await admin<{ datname: string }[]>`
    SELECT datname FROM pg_database d
    WHERE (starts_with(datname, ${names.templatePrefix}) AND datname <> ${current})
       OR (datname ~ ${names.anyTemplateClone} AND NOT starts_with(datname, ${names.clonesOf(current)}))
       OR (starts_with(shobj_description(d.oid, 'pg_database'), ${MARK}) AND NOT EXISTS (
             SELECT 1 FROM pg_database b
             WHERE b.datname = substr(shobj_description(d.oid, 'pg_database'), ${MARK.length + 1})))`;
  for (const { datname } of rows) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}`).catch((err: unknown) => {
      if (pgCode(err) !== '55006') throw err;
    });
  }
}

export async function databaseExists(admin: Sql, name: string): Promise<boolean> {
  const rows = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
  return rows.length > 0;
}

export function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

// Postgres itself waits up to 5 s for other sessions to leave; a just-closed postgres.js client can
// take a moment to disappear on a loaded machine, so keep trying for a while longer.
async function retryWhileInUse<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (pgCode(err) !== '55006' || i >= attempts) throw err;
      await sleep(200 * i);
    }
  }
}
