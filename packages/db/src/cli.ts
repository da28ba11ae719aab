#!/usr/bin/env node
// cti-db: apply or inspect migrations against DATABASE_URL. Exit 0 ok, 1 migration problem or
// database not current (status), 2 bad usage, missing setting or unreachable database.
import postgres from 'postgres';
import { redactUrl } from './database-url.ts';
import { migrate, migrationStatus } from './migrate.ts';
import { MigrationError } from './migration-error.ts';
import { dropAllTestDatabases } from './testing.ts';

const USAGE = `usage: cti-db <command>
  migrate               apply pending migrations to DATABASE_URL (idempotent)
  status                list applied/pending migrations and problems; exit 1 unless current
  drop-test-databases   drop the cti_test_*/cti_tmpl_* databases made from CTI_TEST_DATABASE_URL's
                        base database (leftovers of crashed test runs; never while tests run)`;

type Command = (url: string | undefined) => Promise<number>;

const commands: Record<string, Command> = {
  migrate: (url) =>
    withSql(url, async (sql) => {
      await migrate({ sql, log: (m) => console.log(m) });
      return 0;
    }),
  status: (url) =>
    withSql(url, async (sql) => {
      const s = await migrationStatus(sql);
      for (const f of s.applied) console.log(`applied  ${f}`);
      for (const f of s.pending) console.log(`pending  ${f}`);
      for (const p of s.problems) console.log(`problem  ${p}`);
      console.log(s.current ? 'current' : 'not current');
      return s.current ? 0 : 1;
    }),
  'drop-test-databases': async () => {
    const dropped = await dropAllTestDatabases();
    console.log(
      `dropped ${dropped.length} test database(s)${dropped.length ? `: ${dropped.join(', ')}` : ''}`,
    );
    return 0;
  },
};

async function withSql(url: string | undefined, fn: (sql: postgres.Sql) => Promise<number>): Promise<number> {
  if (!url) {
    console.error('cti-db: DATABASE_URL is not set (e.g. postgres://cti:cti@127.0.0.1:5432/cti)');
    return 2;
  }
  let sql: postgres.Sql;
  try {
    sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  } catch (err) {
    // postgres.js parses the URL at once: 'notaurl', a port over 65535, an unclosed [IPv6 bracket.
    console.error(
      `cti-db: DATABASE_URL=${redactUrl(url)} is not a usable URL (${(err as Error).message}); expected postgres://user:password@host:port/database`,
    );
    return 2;
  }
  try {
    try {
      await sql`SELECT 1`;
    } catch (err) {
      console.error(`cti-db: cannot connect to DATABASE_URL=${redactUrl(url)}: ${(err as Error).message}`);
      return 2;
    }
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** What is wrong with argv, in one line naming it; null when argv is one known command. */
function usageProblem(argv: string[]): string | null {
  const [name, ...rest] = argv;
  if (name!.startsWith('-')) return `unknown option ${JSON.stringify(name)}`;
  if (!Object.hasOwn(commands, name!)) return `unknown command ${JSON.stringify(name)}`;
  if (rest.length > 0) {
    const extra = rest[0]!;
    return `${extra.startsWith('-') ? 'unknown option' : 'unexpected argument'} ${JSON.stringify(extra)}`;
  }
  return null;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'help' || argv.some((a) => a === '--help' || a === '-h')) {
    console.log(USAGE);
    return 0;
  }
  if (argv.length === 0) {
    console.error(USAGE);
    return 2;
  }
  const problem = usageProblem(argv);
  if (problem) {
    console.error(`cti-db: ${problem}\n${USAGE}`);
    return 2;
  }
  const command = commands[argv[0]!]!;
  try {
    return await command(process.env.DATABASE_URL);
  } catch (err) {
    console.error(`cti-db ${argv[0]}: ${(err as Error).message}`);
    return err instanceof MigrationError ? 1 : 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
