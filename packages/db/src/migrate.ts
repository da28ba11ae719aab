import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from 'postgres';
import { LOCK_MIGRATE, LOCK_NAMESPACE } from './advisory-locks.ts';
import { MigrationError } from './migration-error.ts';
import { listMigrations, type Migration } from './migration-files.ts';
import { describeLockWait, type LockWait, watchLockWait } from './migration-lock-wait.ts';
import { type AppliedMigration, planMigrations } from './migration-plan.ts';

export type MigrateOptions = {
  /**
   * postgres.js client connected to the database to migrate. One connection applies the files; with
   * room for a second (`max` ≥ 2) a lock wait is watched on it, so a timeout can name who blocks.
   */
  sql: Sql;
  /** Receives a line when a migration starts, when it is applied, when it waits, and a summary. */
  log?: (message: string) => void;
  /** Folder of `NNNN_name.sql` files; defaults to the package's own `migrations/`. */
  dir?: string;
  /**
   * `lock_timeout` of each file's transaction (ms; 0 = wait for ever): a migration queued behind a
   * long reader (an export's cursor) for an ACCESS EXCLUSIVE lock makes every later query on that
   * table queue behind it, so it gives up after this long, lets them through, and tries again.
   */
  lockTimeoutMs?: number;
  /** Attempts of one file that end at `lockTimeoutMs` before the run fails. */
  lockAttempts?: number;
  /** Pause after the first such attempt; doubled after each. */
  lockRetryDelayMs?: number;
};

/** `lock_timeout` of a migration file's transaction by default (CTI_MIGRATE_LOCK_TIMEOUT_MS). */
export const DEFAULT_MIGRATE_LOCK_TIMEOUT_MS = 5000;

export type MigrationStatus = {
  /** True when nothing is pending and there are no problems. */
  current: boolean;
  pending: string[];
  applied: string[];
  problems: string[];
  /**
   * Applied in the database but missing on disk (also among `problems`): this code is older than the
   * database schema — deploy the newer release; migrating cannot help.
   */
  unknown: string[];
};

/**
 * Applies the pending migrations in order, each file in a transaction of its own with `lock_timeout`
 * (`lockTimeoutMs`; a file that times out waiting for a lock is rolled back and retried with back-off,
 * then the run fails naming the lock and its holder). The whole run holds a session-level advisory
 * lock: a second runner logs that it waits, then finds nothing to do. Refuses (MigrationError, nothing
 * applied) when an applied migration was edited or is missing on disk. A file that fails leaves the
 * files before it applied and itself not at all.
 *
 * @example
 * const { applied } = await migrate({ sql, log: (m) => logger.info(m) });
 */
export async function migrate({
  sql,
  log = () => {},
  dir,
  lockTimeoutMs = DEFAULT_MIGRATE_LOCK_TIMEOUT_MS,
  lockAttempts = 4,
  lockRetryDelayMs = 1000,
}: MigrateOptions): Promise<{ applied: string[] }> {
  const migrations = listMigrations(dir);
  const conn = await sql.reserve();
  try {
    await takeMigrationLock(conn, log);
    try {
      await ensureMigrationsTable(conn);
      const { pending, problems } = planMigrations(migrations, await readApplied(conn));
      if (problems.length > 0) throw new MigrationError(problems);
      const [{ pid } = { pid: 0 }] = await conn<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const retry = { lockTimeoutMs, lockAttempts, lockRetryDelayMs };
      for (const migration of pending) await applyMigration({ sql, conn, pid, m: migration, log, retry });
      log(
        pending.length > 0
          ? `migrations: applied ${pending.length}, database is at ${migrations.at(-1)?.file}`
          : `migrations: database is up to date (${migrations.length} applied)`,
      );
      return { applied: pending.map((m) => m.file) };
    } finally {
      // A broken connection has lost the lock already; its error is the one to report.
      await conn`SELECT pg_advisory_unlock(${LOCK_NAMESPACE}, ${LOCK_MIGRATE})`.catch(() => {});
    }
  } finally {
    conn.release();
  }
}

/** Session-level, so it spans the files' transactions; says so when another runner holds it. */
async function takeMigrationLock(conn: Sql, log: (message: string) => void): Promise<void> {
  const [row] = await conn<{ got: boolean }[]>`
    SELECT pg_try_advisory_lock(${LOCK_NAMESPACE}, ${LOCK_MIGRATE}) AS got`;
  if (row?.got) return;
  log('migrations: another process is migrating: waiting for its lock');
  await conn`SELECT pg_advisory_lock(${LOCK_NAMESPACE}, ${LOCK_MIGRATE})`;
}

/**
 * Read-only comparison of the database with the migration files, e.g. for a readiness probe.
 * Takes no lock and never throws for migration problems (they are listed in `problems`).
 *
 * @example
 * const { current, problems } = await migrationStatus(sql);
 */
export async function migrationStatus(sql: Sql, { dir }: { dir?: string } = {}): Promise<MigrationStatus> {
  const migrations = listMigrations(dir);
  const applied = (await migrationsTableExists(sql)) ? await readApplied(sql) : [];
  const { pending, problems, unknown } = planMigrations(migrations, applied);
  return {
    current: pending.length === 0 && problems.length === 0,
    pending: pending.map((m) => m.file),
    applied: applied.map((r) => r.name),
    problems,
    unknown: unknown.map((r) => r.name),
  };
}

async function migrationsTableExists(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ exists: boolean }[]>`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`;
  return row?.exists === true;
}

// Checked first (rather than CREATE TABLE IF NOT EXISTS) to avoid a NOTICE on every run.
async function ensureMigrationsTable(conn: Sql): Promise<void> {
  if (await migrationsTableExists(conn)) return;
  await conn`
    CREATE TABLE schema_migrations(
      version int PRIMARY KEY,
      name text NOT NULL,
      checksum char(64) NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
}

async function readApplied(sql: Sql): Promise<AppliedMigration[]> {
  return sql<AppliedMigration[]>`
    SELECT version, name, checksum, applied_at AS "appliedAt"
    FROM schema_migrations ORDER BY version`;
}

type RetryOptions = { lockTimeoutMs: number; lockAttempts: number; lockRetryDelayMs: number };

type ApplyOptions = {
  /** The pool, for watching a lock wait on a second connection. */
  sql: Sql;
  /** The reserved connection that holds the migration lock and applies the files. */
  conn: Sql;
  /** `conn`'s backend. */
  pid: number;
  m: Migration;
  log: (message: string) => void;
  retry: RetryOptions;
};

async function applyMigration({ sql, conn, pid, m, log, retry }: ApplyOptions): Promise<void> {
  const { lockTimeoutMs, lockAttempts, lockRetryDelayMs } = retry;
  const everyMs = Math.min(1000, Math.max(50, Math.floor((lockTimeoutMs || 4000) / 4)));
  for (let attempt = 1; ; attempt++) {
    log(`migrations: applying ${m.file}${attempt > 1 ? ` (attempt ${attempt} of ${lockAttempts})` : ''}`);
    const started = performance.now();
    const watch = watchLockWait(sql, pid, {
      everyMs,
      onFirstWait: (wait) => log(`migrations: ${m.file} waits for ${describeLockWait(wait)}`),
    });
    try {
      await applyOnce(conn, m, lockTimeoutMs);
      await watch.stop();
      log(`migrations: applied ${m.file} in ${Math.round(performance.now() - started)} ms`);
      return;
    } catch (err) {
      const wait = await watch.stop();
      if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) {
        throw new MigrationError([`${m.file} failed${lineOf(m.sql, err)}: ${(err as Error).message}`], {
          cause: err,
        });
      }
      if (attempt >= lockAttempts) throw lockTimeoutError(m, wait, retry, attempt, err);
      const delay = lockRetryDelayMs * 2 ** (attempt - 1);
      log(
        `migrations: ${m.file} rolled back after waiting lock_timeout ${lockTimeoutMs} ms for ` +
          `${describeLockWait(wait)}; trying again in ${delay} ms`,
      );
      await sleep(delay);
    }
  }
}

/** lock_not_available: `lock_timeout` reached (also NOWAIT, which no migration uses). */
const LOCK_NOT_AVAILABLE = '55P03';

async function applyOnce(conn: Sql, m: Migration, lockTimeoutMs: number): Promise<void> {
  await conn.unsafe('BEGIN');
  try {
    await conn.unsafe(`SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`);
    // No parameters → simple-query protocol, so a file may hold many statements.
    await conn.unsafe(m.sql);
    await conn`
      INSERT INTO schema_migrations(version, name, checksum)
      VALUES (${m.version}, ${m.file}, ${m.checksum})`;
    await conn.unsafe('COMMIT');
  } catch (err) {
    await conn.unsafe('ROLLBACK').catch(() => {});
    throw err;
  }
}

function lockTimeoutError(
  m: Migration,
  wait: LockWait | undefined,
  { lockTimeoutMs }: RetryOptions,
  attempts: number,
  cause: unknown,
): MigrationError {
  const pids = wait?.holders.map((h) => h.pid) ?? [];
  const end =
    pids.length > 0 ? ` (${pids.map((pid) => `SELECT pg_terminate_backend(${pid})`).join('; ')})` : '';
  return new MigrationError(
    [
      `${m.file} was not applied: ${attempts} attempts each waited lock_timeout ${lockTimeoutMs} ms for ` +
        `${describeLockWait(wait)}. Let that transaction finish (an export in progress holds one for up ` +
        `to CTI_EXPORT_MAX_DURATION_S) or end it${end}, then migrate again; ` +
        `CTI_MIGRATE_LOCK_TIMEOUT_MS sets the wait of each attempt`,
    ],
    { cause },
  );
}

/** Postgres reports a 1-based character `position` for syntax errors; turn it into a line number. */
function lineOf(text: string, err: unknown): string {
  const position = Number((err as { position?: unknown }).position);
  if (!Number.isInteger(position) || position < 1) return '';
  return ` at line ${text.slice(0, position - 1).split('\n').length}`;
}
