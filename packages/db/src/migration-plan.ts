import type { Migration } from './migration-files.ts';

/** A row of `schema_migrations`. */
export type AppliedMigration = { version: number; name: string; checksum: string; appliedAt: Date };

export type MigrationPlan = {
  pending: Migration[];
  problems: string[];
  /** Applied in the database but not on disk: the code is older than the database schema. */
  unknown: AppliedMigration[];
};

/**
 * Compares the files on disk with the rows in `schema_migrations`. Pure, so `migrate` (under the lock)
 * and `migrationStatus` (read-only) agree on what is pending and what is wrong.
 */
export function planMigrations(
  onDisk: readonly Migration[],
  applied: readonly AppliedMigration[],
): MigrationPlan {
  const byVersion = new Map(onDisk.map((m) => [m.version, m]));
  const problems: string[] = [];
  const unknown = applied.filter((row) => !byVersion.has(row.version));
  for (const row of applied) {
    const file = byVersion.get(row.version);
    const problem = file ? checkApplied(file, row) : missingProblem(row);
    if (problem) problems.push(problem);
  }
  const appliedVersions = new Set(applied.map((r) => r.version));
  const pending = onDisk.filter((m) => !appliedVersions.has(m.version));
  const newest = applied.reduce<AppliedMigration | undefined>(
    (max, r) => (max && max.version > r.version ? max : r),
    undefined,
  );
  for (const m of pending) {
    if (newest && m.version < newest.version) {
      problems.push(
        `${m.file} is pending but the newer migration ${newest.name} is already applied; ` +
          `renumber ${m.file} after ${newest.name}`,
      );
    }
  }
  return { pending, problems, unknown };
}

function checkApplied(file: Migration, row: AppliedMigration): string | undefined {
  if (file.checksum !== row.checksum) {
    return (
      `${file.file} was edited after it was applied (checksum in database ${row.checksum.slice(0, 12)}…, ` +
      `on disk ${file.checksum.slice(0, 12)}…); restore it and put the change in a new migration`
    );
  }
  if (file.file !== row.name) {
    return `migration ${row.version} was applied as ${row.name} but the file is now named ${file.file}`;
  }
  return undefined;
}

function missingProblem(row: AppliedMigration): string {
  return (
    `${row.name} is applied in the database (at ${row.appliedAt.toISOString()}) but missing on disk; ` +
    `this code is older than the database schema`
  );
}
