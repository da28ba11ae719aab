import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { listMigrations, MIGRATIONS_DIR, migrate, migrationStatus } from './index.ts';
import { introspectSchema } from './test-introspect-schema.ts';
import { SPEC_SCHEMA } from './test-spec-schema.ts';
import { createTestDatabase } from './testing.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIRST = listMigrations()[0]!;

test('migration 1 alone leaves exactly the schema of spec §4', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const dir = mkdtempSync(join(tmpdir(), 'cti-db-m1-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(MIGRATIONS_DIR, FIRST.file), join(dir, FIRST.file));
  assert.equal(FIRST.file, '0001_spec_schema.sql');

  await migrate({ sql: db.sql, dir });
  assert.deepEqual(await introspectSchema(db.sql), [...SPEC_SCHEMA].sort());
});

test('the introspection notices drift (so the comparison above can fail)', async (t) => {
  const db = await createTestDatabase();
  t.after(() => db.drop());
  const before = await introspectSchema(db.sql);
  await db.sql`ALTER TABLE scans ALTER COLUMN scan_id SET NOT NULL`;
  await db.sql`DROP INDEX idx_scans_farm_captured`;
  const after = await introspectSchema(db.sql);
  assert.deepEqual(
    before.filter((l) => !after.includes(l)),
    [
      'column scans.scan_id text',
      'index idx_scans_farm_captured: CREATE INDEX idx_scans_farm_captured ON public.scans USING btree (farm_id, captured_at DESC)',
    ],
  );
});

test('`pnpm db:migrate` twice on an empty database: applies everything, then is a no-op', async (t) => {
  const db = await createTestDatabase({ migrated: false });
  t.after(() => db.drop());
  const all = listMigrations().map((m) => m.file);

  const first = await pnpmDbMigrate(db.url);
  assert.equal(first.code, 0, first.output);
  for (const file of all) assert.match(first.output, new RegExp(`applied ${file} in \\d+ ms`));
  const second = await pnpmDbMigrate(db.url);
  assert.equal(second.code, 0, second.output);
  assert.match(second.output, new RegExp(`database is up to date \\(${all.length} applied\\)`));
  assert.doesNotMatch(second.output, /applied \d{4}_/);

  assert.deepEqual(await migrationStatus(db.sql), {
    current: true,
    pending: [],
    applied: all,
    problems: [],
    unknown: [],
  });
  const schema = await introspectSchema(db.sql);
  assert.deepEqual(specItemsNotCovered(schema), [], 'later migrations must only add to the spec schema');
  // The test template is built by the same runner, so a test database has exactly this schema.
  const clone = await createTestDatabase();
  t.after(() => clone.drop());
  assert.deepEqual(await introspectSchema(clone.sql), schema);
});

/**
 * Spec lines missing from `schema`. Later migrations are additive (spec §9): they may add tables,
 * columns, indexes, constraints and enum values, and may tighten a nullable spec column to NOT NULL,
 * but nothing of migration 1 may disappear or change type.
 */
function specItemsNotCovered(schema: readonly string[]): string[] {
  const present = new Set(schema);
  return SPEC_SCHEMA.filter((line) => {
    if (present.has(line)) return false;
    if (line.startsWith('column ')) {
      return !schema.some((l) => l.replace(' NOT NULL', '') === line.replace(' NOT NULL', ''));
    }
    if (line.startsWith('enum ')) return !schema.some((l) => l.startsWith(`${line}, `));
    return true;
  });
}

function pnpmDbMigrate(databaseUrl: string): Promise<{ code: number | null; output: string }> {
  // Under `pnpm test`, npm_execpath is the running pnpm (pnpm 12 ships a native binary; older ones a
  // .cjs script). Run directly, pnpm comes from PATH (scripts/lib/env.sh).
  const pnpm = process.env.npm_execpath ?? '';
  const [cmd, args]: [string, string[]] = !/pnpm/.test(pnpm)
    ? ['pnpm', ['db:migrate']]
    : /\.[cm]?js$/.test(pnpm)
      ? [process.execPath, [pnpm, 'db:migrate']]
      : [pnpm, ['db:migrate']];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
