import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Sql } from 'postgres';
import { LOCK_NAMESPACE, LOCK_TEST_TEMPLATE } from './advisory-locks.ts';
import { testDatabaseNames } from './database-names.ts';
import { listMigrations, migrationStatus } from './index.ts';
import { APPLICATION_NAME, connect } from './template-database.ts';
import { createTestDatabase, dropAllTestDatabases, type TestDatabase } from './testing.ts';

const CHILD = new URL('./test-create-database-child.ts', import.meta.url).pathname;

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

async function databases(sql: Sql, prefix: string): Promise<string[]> {
  const rows = await sql<{ datname: string }[]>`
    SELECT datname FROM pg_database WHERE starts_with(datname, ${prefix}) ORDER BY datname`;
  return rows.map((r) => r.datname);
}

describe('createTestDatabase', () => {
  test('gives isolated databases that hold all migrations', async (t) => {
    const other = await createTestDatabase();
    t.after(() => other.drop());
    assert.notEqual(other.name, db.name);
    assert.match(other.name, /^cti_test_[0-9a-f]{6}_[0-9a-f]{10}_\d+_[0-9a-f]{8}$/);
    for (const { sql } of [db, other]) assert.equal((await migrationStatus(sql)).current, true);
    await other.sql`INSERT INTO farms(name) VALUES ('only in other')`;
    const [row] = await db.sql`SELECT count(*)::int AS n FROM farms WHERE name = 'only in other'`;
    assert.equal(row?.n, 0);
    const byUrl = connect(other.url);
    t.after(() => byUrl.end());
    const [fromUrl] = await byUrl`SELECT current_database() AS name`;
    assert.equal(fromUrl?.name, other.name);
  });

  test('sessions on a test database commit asynchronously; asyncCommit: false (benchmarks) keeps the server default', async (t) => {
    const durable = await createTestDatabase({ asyncCommit: false });
    t.after(() => durable.drop());
    const other = connect(db.url); // a new session, as a spawned server's would be
    t.after(() => other.end());
    const [fast] = await other`SELECT current_setting('synchronous_commit') AS v`;
    assert.equal(fast?.v, 'off');
    const settings = async (name: string) =>
      (
        await db.sql<{ setconfig: string[] }[]>`
          SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
           WHERE d.datname = ${name} AND s.setrole = 0`
      ).flatMap((r) => r.setconfig);
    assert.deepEqual(await settings(db.name), ['synchronous_commit=off']);
    assert.deepEqual(await settings(durable.name), []);
  });

  test('drop() closes the client and removes the database; a second drop() is harmless', async () => {
    const doomed = await createTestDatabase();
    assert.deepEqual(await databases(db.sql, doomed.name), [doomed.name]);
    await doomed.drop();
    await doomed.drop();
    assert.deepEqual(await databases(db.sql, doomed.name), []);
    await assert.rejects(doomed.sql`SELECT 1`);
  });

  test('migrated: false copies the bare base database: extensions, no migrations', async (t) => {
    const bare = await createTestDatabase({ migrated: false });
    t.after(() => bare.drop());
    assert.match(bare.name, /^cti_test_[0-9a-f]{6}_base_/);
    const rows = await bare.sql`SELECT extname FROM pg_extension ORDER BY extname`;
    assert.deepEqual(
      rows.map((r) => r.extname),
      ['pgcrypto', 'plpgsql', 'postgis', 'uuid-ossp'],
    );
    assert.deepEqual(await migrationStatus(bare.sql), {
      current: false,
      pending: listMigrations().map((m) => m.file),
      applied: [],
      problems: [],
      unknown: [],
    });
  });

  test('unreachable Postgres: the error names CTI_TEST_DATABASE_URL and `bash scripts/setup.sh`', async () => {
    const port = await closedPort();
    await assert.rejects(
      createTestDatabase({ baseUrl: `postgres://cti:secret@127.0.0.1:${port}/cti_base` }),
      (err: Error) => {
        assert.match(
          err.message,
          /^Cannot reach the test Postgres at postgres:\/\/cti:\*\*\*@127\.0\.0\.1:\d+\/postgres/,
        );
        assert.match(err.message, /CTI_TEST_DATABASE_URL=postgres:\/\/cti:\*\*\*@/);
        assert.match(err.message, /ECONNREFUSED/);
        assert.match(err.message, /`bash scripts\/setup\.sh`/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
    );
  });

  test('bad settings are named: unset, not a URL, no database, missing base database', async () => {
    await assert.rejects(createTestDatabase({ baseUrl: '' }), /^Error: CTI_TEST_DATABASE_URL is not set/);
    await assert.rejects(createTestDatabase({ baseUrl: 'cti_base' }), /CTI_TEST_DATABASE_URL is not a URL/);
    await assert.rejects(
      createTestDatabase({ baseUrl: 'mysql://cti@127.0.0.1/cti_base' }),
      /CTI_TEST_DATABASE_URL must start with postgres:\/\//,
    );
    await assert.rejects(
      createTestDatabase({ baseUrl: 'postgres://cti:cti@127.0.0.1:5432/' }),
      /CTI_TEST_DATABASE_URL names no database/,
    );
    const missing = db.url.replace(/\/[^/]+$/, '/cti_no_such_base');
    for (const migrated of [true, false]) {
      await assert.rejects(
        createTestDatabase({ baseUrl: missing, migrated }),
        /The base database cti_no_such_base named by CTI_TEST_DATABASE_URL does not exist; create it with `bash scripts\/setup\.sh`/,
      );
    }
  });
});

describe('template database', () => {
  test('its name follows the base database and every migration file', () => {
    const migrations = listMigrations();
    const names = testDatabaseNames('cti_base');
    const template = names.template(migrations);
    assert.match(template, /^cti_tmpl_[0-9a-f]{6}_[0-9a-f]{10}$/);
    assert.equal(testDatabaseNames('cti_base').template(migrations), template);
    const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: '0'.repeat(64) } : m));
    assert.notEqual(names.template(edited), template);
    const added = [...migrations, { ...migrations[0]!, version: 9999, file: '9999_more.sql' }];
    assert.notEqual(names.template(added), template);
    assert.notEqual(testDatabaseNames('other_base').template(migrations).slice(0, 16), template.slice(0, 16));
    assert.ok(names.clone(template).startsWith(names.clonesOf(template)));
  });

  test('parallel processes build it once, race-free, and drop stale templates of the same base', async (t) => {
    // A private base database, so this test builds a template of its own without disturbing others.
    const base = await createTestDatabase({ migrated: false });
    t.after(() => base.drop());
    await base.sql.end();
    const names = testDatabaseNames(base.name);
    const stale = [`${names.templatePrefix}0000000000`, `${names.clonePrefix}0000000000_1_deadbeef`];
    for (const name of stale) await db.sql.unsafe(`CREATE DATABASE "${name}" TEMPLATE template0`);
    // A leftover of a test whose private base database is gone.
    const orphan = `${testDatabaseNames('cti_gone_base').clonePrefix}base_1_deadbeef`;
    await db.sql.unsafe(`CREATE DATABASE "${orphan}" TEMPLATE template0`);
    await db.sql.unsafe(`COMMENT ON DATABASE "${orphan}" IS 'cti-db test database; base=cti_gone_base'`);
    t.after(() => db.sql.unsafe(`DROP DATABASE IF EXISTS "${orphan}"`));

    // Hold the builders' lock until all four children wait for it, so they really do race.
    // Advisory locks are per database: take it where the helper does, in the admin database.
    const admin = connect(db.url.replace(/\/[^/]+$/, '/postgres'));
    t.after(() => admin.end());
    await admin`SELECT pg_advisory_lock(${LOCK_NAMESPACE}, ${LOCK_TEST_TEMPLATE})`;
    const children = Array.from({ length: 4 }, () => runChild(base.url));
    await waitForTemplateLockWaiters(
      db.sql,
      children.map((c) => c.pid),
    );
    await admin`SELECT pg_advisory_unlock(${LOCK_NAMESPACE}, ${LOCK_TEST_TEMPLATE})`;

    const results = await Promise.all(children.map((c) => c.result));
    const template = names.template(listMigrations());
    for (const r of results) {
      assert.equal(r.current, true);
      assert.ok(r.name.startsWith(names.clonesOf(template)), r.name);
    }
    assert.deepEqual(await databases(db.sql, names.templatePrefix), [template]);
    assert.deepEqual(await databases(db.sql, names.clonePrefix), [], 'stale and finished clones are gone');
    assert.deepEqual(await databases(db.sql, orphan), [], 'a test database whose base is gone is dropped');

    // Leftovers of this base are found and dropped; nothing of other bases is touched.
    const leftover = await createTestDatabase({ baseUrl: base.url });
    await leftover.sql.end();
    const dropped = await dropAllTestDatabases({ baseUrl: base.url });
    assert.deepEqual(dropped, [leftover.name, template].sort());
    assert.deepEqual(await databases(db.sql, names.templatePrefix), []);
    assert.deepEqual(await databases(db.sql, db.name), [db.name]);
  });
});

type Child = { pid: number; result: Promise<{ name: string; current: boolean }> };

function runChild(baseUrl: string): Child {
  const child = spawn(process.execPath, [CHILD], { env: { ...process.env, CTI_TEST_DATABASE_URL: baseUrl } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const result = new Promise<{ name: string; current: boolean }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
  return { pid: child.pid!, result };
}

async function waitForTemplateLockWaiters(sql: Sql, pids: number[]): Promise<void> {
  const names = pids.map((pid) => `${APPLICATION_NAME} pid ${pid}`);
  for (let i = 0; i < 1200; i++) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(DISTINCT a.application_name)::int AS n
      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = ${LOCK_TEST_TEMPLATE}
        AND a.application_name IN ${sql(names)}`;
    if (row?.n === pids.length) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the child processes never queued for the template lock');
}

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
