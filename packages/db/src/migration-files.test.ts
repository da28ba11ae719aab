import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { listMigrations, MIGRATIONS_DIR } from './migration-files.ts';

function folder(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cti-db-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('the package ships migration 1 and every file is checksummed from its bytes', () => {
  const migrations = listMigrations();
  assert.equal(migrations[0]?.file, '0001_spec_schema.sql');
  for (const m of migrations) {
    const bytes = readFileSync(join(MIGRATIONS_DIR, m.file));
    assert.equal(m.checksum, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(m.sql, bytes.toString('utf8'));
  }
  assert.deepEqual(
    migrations.map((m) => m.version),
    [...migrations.map((m) => m.version)].sort((a, b) => a - b),
  );
});

test('files are ordered by number; other files in the folder are ignored', (t) => {
  const dir = folder(t, { '0010_b.sql': 'SELECT 2;', '0002_a_b.sql': 'SELECT 1;', 'README.md': '# notes' });
  assert.deepEqual(
    listMigrations(dir).map((m) => [m.version, m.name, m.file]),
    [
      [2, 'a_b', '0002_a_b.sql'],
      [10, 'b', '0010_b.sql'],
    ],
  );
});

test('a misnamed .sql file or a duplicate number is an error naming the files', (t) => {
  for (const bad of ['2_short.sql', '0002-dash.sql', '0002_Upper.sql', '0002_.sql']) {
    const dir = folder(t, { [bad]: 'SELECT 1;' });
    assert.throws(
      () => listMigrations(dir),
      new RegExp(`${bad.replace('.', '\\.')} is misnamed: expected NNNN_`),
    );
  }
  const dir = folder(t, { '0003_one.sql': '', '0003_two.sql': '' });
  assert.throws(() => listMigrations(dir), /0003_one\.sql and 0003_two\.sql .* share version 3/);
});

test('no landed migration has changed: every file matches its line in migrations/landed.sha256', () => {
  const landed = new Map(
    readFileSync(join(MIGRATIONS_DIR, 'landed.sha256'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [hash, file] = line.split(/\s+\*?/);
        return [file!, hash!] as const;
      }),
  );
  for (const m of listMigrations()) {
    const hash = landed.get(m.file);
    assert.ok(
      hash,
      `${m.file} has no line in migrations/landed.sha256: add it when it lands (sha256sum ${m.file} >> landed.sha256)`,
    );
    assert.equal(
      m.checksum,
      hash,
      `${m.file} was edited after it landed: databases that applied it refuse to migrate. Restore its bytes and put the change in a new migration`,
    );
    landed.delete(m.file);
  }
  assert.deepEqual([...landed.keys()], [], 'landed.sha256 names migrations that are not in the folder');
});
