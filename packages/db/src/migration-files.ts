import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One migration file on disk. */
export type Migration = {
  /** Number from the file name prefix: `0001_spec_schema.sql` → 1. */
  version: number;
  /** The file name, e.g. `0001_spec_schema.sql`; this is how migrations are named everywhere. */
  file: string;
  /** Part of the file name after the number, e.g. `spec_schema`. */
  name: string;
  /** sha256 hex of the file's bytes; an applied migration whose checksum changes is refused. */
  checksum: string;
  sql: string;
};

/**
 * The package's own migrations folder. `src/` and `dist/` both sit one level below the package
 * root, so the same relative URL works for tests (run from src) and for the built CLI/library.
 */
export const MIGRATIONS_DIR: string = fileURLToPath(new URL('../migrations/', import.meta.url));

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/**
 * Reads and checks the migration files in `dir` (default: the package's `migrations/`), sorted by
 * version. Throws when a `.sql` file is misnamed or two files share a version number.
 *
 * @example
 * listMigrations().map((m) => m.file); // ['0001_spec_schema.sql', ...]
 */
export function listMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const migrations = files.map((file) => readMigration(dir, file));
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1]!;
    const cur = migrations[i]!;
    if (prev.version === cur.version) {
      throw new Error(`Migrations ${prev.file} and ${cur.file} in ${dir} share version ${cur.version}`);
    }
  }
  return migrations;
}

function readMigration(dir: string, file: string): Migration {
  const match = FILE_PATTERN.exec(file);
  if (!match) {
    throw new Error(
      `Migration file ${join(dir, file)} is misnamed: expected NNNN_lowercase_name.sql (e.g. 0002_add_jobs.sql)`,
    );
  }
  const bytes = readFileSync(join(dir, file));
  return {
    version: Number(match[1]),
    file,
    name: match[2]!,
    checksum: createHash('sha256').update(bytes).digest('hex'),
    sql: bytes.toString('utf8'),
  };
}
