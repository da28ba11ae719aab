import type { Sql, TransactionSql } from 'postgres';
import { LOCK_MIGRATE, LOCK_NAMESPACE } from './advisory-locks.ts';
import { MigrationError } from './migration-error.ts';
import { listMigrations, type Migration } from './migration-files.ts';
import { type AppliedMigration, planMigrations } from './migration-plan.ts';

export type MigrateOptions = {
  /** postgres.js client connected to the database to migrate. */
  sql: Sql;
  /** Receives one line per applied migration and a summary. */
  log?: (message: string) => void;
  /** Folder of `NNNN_name.sql` files; defaults to the package's own `migrations/`. */
  dir?: string;
};

export type MigrationStatus = {
  /** True when nothing is pending and there are no problems. */
  current: boolean;
  pending: string[];
  applied: string[];
  problems: string[];
};

/**
 * Applies all pending migrations in ONE transaction, under a transaction-level advisory lock: a
 * second runner waits for the first to commit and then finds nothing to do. Refuses (MigrationError,
 * nothing applied) when an applied migration was edited or is missing on disk.
 *
 * @example
 * const { applied } = await migrate({ sql, log: (m) => logger.info(m) });
 */
export async function migrate({ sql, log = () => {}, dir }: MigrateOptions): Promise<{ applied: string[] }> {
  const migrations = listMigrations(dir);
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${LOCK_MIGRATE})`;
    await ensureMigrationsTable(tx);
    const { pending, problems } = planMigrations(migrations, await readApplied(tx));
    if (problems.length > 0) throw new MigrationError(problems);
    for (const migration of pending) await applyMigration(tx, migration, log);
    log(
      pending.length > 0
        ? `migrations: applied ${pending.length}, database is at ${migrations.at(-1)?.file}`
        : `migrations: database is up to date (${migrations.length} applied)`,
    );
    return { applied: pending.map((m) => m.file) };
  });
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
  const { pending, problems } = planMigrations(migrations, applied);
  return {
    current: pending.length === 0 && problems.length === 0,
    pending: pending.map((m) => m.file),
    applied: applied.map((r) => r.name),
    problems,
  };
}

async function migrationsTableExists(sql: Sql | TransactionSql): Promise<boolean> {
  const [row] = await sql<{ exists: boolean }[]>`
    SELECT to_regclass('schema_migrations') IS NOT NULL AS exists`;
  return row?.exists === true;
}

// Checked first (rather than CREATE TABLE IF NOT EXISTS) to avoid a NOTICE on every run.
async function ensureMigrationsTable(tx: TransactionSql): Promise<void> {
  if (await migrationsTableExists(tx)) return;
  await tx`
    CREATE TABLE schema_migrations(
      version int PRIMARY KEY,
      name text NOT NULL,
      checksum char(64) NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
}

async function readApplied(sql: Sql | TransactionSql): Promise<AppliedMigration[]> {
  return sql<AppliedMigration[]>`
    SELECT version, name, checksum, applied_at AS "appliedAt"
    FROM schema_migrations ORDER BY version`;
}

async function applyMigration(
  tx: TransactionSql,
  m: Migration,
  log: (message: string) => void,
): Promise<void> {
  const started = performance.now();
  try {
    // No parameters → simple-query protocol, so a file may hold many statements.
    await tx.unsafe(m.sql);
  } catch (err) {
    throw new MigrationError([`${m.file} failed${lineOf(m.sql, err)}: ${(err as Error).message}`], {
      cause: err,
    });
  }
  await tx`
    INSERT INTO schema_migrations(version, name, checksum)
    VALUES (${m.version}, ${m.file}, ${m.checksum})`;
  log(`migrations: applied ${m.file} in ${Math.round(performance.now() - started)} ms`);
}

/** Postgres reports a 1-based character `position` for syntax errors; turn it into a line number. */
function lineOf(text: string, err: unknown): string {
  const position = Number((err as { position?: unknown }).position);
  if (!Number.isInteger(position) || position < 1) return '';
  return ` at line ${text.slice(0, position - 1).split('\n').length}`;
}
