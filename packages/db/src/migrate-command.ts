import postgres from 'postgres';
import { redactUrl } from './database-url.ts';
import { DEFAULT_MIGRATE_LOCK_TIMEOUT_MS, migrate, migrationStatus } from './migrate.ts';
import { MigrationError } from './migration-error.ts';

/** Where the command writes: one line per call, without its line end. */
export type MigrateCommandIo = { out: (line: string) => void; err: (line: string) => void };

export type MigrateCommandOptions = {
  /** Reads DATABASE_URL and CTI_MIGRATE_LOCK_TIMEOUT_MS. */
  env: Record<string, string | undefined>;
  io: MigrateCommandIo;
  /** Starts the lines of a bad setting (`cti-db`). */
  program: string;
  /** Starts the line of a failure (`cti-db migrate`, `cti-server migrate status`). */
  label: string;
  /** `application_name` of the connections, so pg_stat_activity shows who migrates. */
  applicationName: string;
};

/**
 * `migrate` (apply, idempotent) or `status` (print applied/pending/problem lines, then `current` or
 * `not current`) against DATABASE_URL — what `cti-db migrate|status` and `cti-server migrate [status]`
 * both run, with the same exit codes: 0 ok (status: current), 1 a refused or failed migration (status:
 * not current), 2 a missing or malformed setting or an unreachable database.
 *
 * @example
 * process.exitCode = await runMigrateCommand('migrate', { env: process.env, io, program: 'cti-db', label: 'cti-db migrate', applicationName: 'cti-db' });
 */
export async function runMigrateCommand(
  command: 'migrate' | 'status',
  { env, io, program, label, applicationName }: MigrateCommandOptions,
): Promise<number> {
  const url = env.DATABASE_URL;
  if (!url) {
    io.err(`${program}: DATABASE_URL is not set (e.g. postgres://cti:cti@127.0.0.1:5432/cti)`);
    return 2;
  }
  const lockTimeoutMs = lockTimeoutSetting(env.CTI_MIGRATE_LOCK_TIMEOUT_MS);
  if (typeof lockTimeoutMs === 'string') {
    io.err(`${program}: ${lockTimeoutMs}`);
    return 2;
  }
  let sql: postgres.Sql;
  try {
    // Two connections: one applies the files, the other names who blocks a lock the first waits for.
    sql = postgres(url, {
      max: 2,
      onnotice: () => {},
      connect_timeout: 10,
      connection: { application_name: applicationName },
    });
  } catch (err) {
    // postgres.js parses the URL at once: 'notaurl', a port over 65535, an unclosed [IPv6 bracket.
    io.err(
      `${program}: DATABASE_URL=${redactUrl(url)} is not a usable URL (${(err as Error).message}); expected postgres://user:password@host:port/database`,
    );
    return 2;
  }
  try {
    try {
      await sql`SELECT 1`;
    } catch (err) {
      io.err(`${program}: cannot connect to DATABASE_URL=${redactUrl(url)}: ${(err as Error).message}`);
      return 2;
    }
    if (command === 'status') return await printStatus(sql, io);
    await migrate({ sql, log: io.out, lockTimeoutMs });
    return 0;
  } catch (err) {
    io.err(`${label}: ${(err as Error).message}`);
    return err instanceof MigrationError ? 1 : 2;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function printStatus(sql: postgres.Sql, io: MigrateCommandIo): Promise<number> {
  const s = await migrationStatus(sql);
  for (const f of s.applied) io.out(`applied  ${f}`);
  for (const f of s.pending) io.out(`pending  ${f}`);
  for (const p of s.problems) io.out(`problem  ${p}`);
  io.out(s.current ? 'current' : 'not current');
  return s.current ? 0 : 1;
}

/** CTI_MIGRATE_LOCK_TIMEOUT_MS as a number of ms, or the sentence saying what is wrong with it. */
export function lockTimeoutSetting(value: string | undefined): number | string {
  if (value === undefined || value === '') return DEFAULT_MIGRATE_LOCK_TIMEOUT_MS;
  const ms = Number(value);
  if (/^\d+$/.test(value.trim()) && ms <= 600_000) return ms;
  return `CTI_MIGRATE_LOCK_TIMEOUT_MS must be an integer from 0 to 600000 (milliseconds; 0 = wait for ever), got ${JSON.stringify(value)}`;
}
