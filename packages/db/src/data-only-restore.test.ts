import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Sql, TransactionSql } from 'postgres';
import { createTestDatabase, type TestDatabase } from './testing.ts';

// Migration 0031 on real Postgres with the real pg_dump and pg_restore: a data-only dump of a
// database with farms, devices, scans, animals and grading results restores into a freshly migrated
// database WITHOUT --disable-triggers (the triggers' functions find their tables although pg_restore
// empties search_path), and the counts tables then equal a GROUP BY of the restored scans — by the
// procedure apps/server/README.md documents ("Restoring data into a migrated database"): the
// migrations' own rows and the counts tables left out of the list, the triggers counting the scans;
// a plain-format dump (those tables left out by pg_dump) through psql, then the rebuilds.

const run = promisify(execFile);

/**
 * The client binaries of the server's major version, where Debian's postgresql-client-NN puts them
 * (scripts/setup.sh installs postgresql-15, which depends on it); else whatever `PATH` has.
 */
async function pgBinary(sql: Sql, name: 'pg_dump' | 'pg_restore' | 'psql') {
  const [row] = await sql<{ major: number }[]>`
    SELECT current_setting('server_version_num')::int / 10000 AS major`;
  const path = `/usr/lib/postgresql/${row!.major}/bin/${name}`;
  return existsSync(path) ? path : name;
}

/**
 * The restore list of the documented procedure: every entry of `pg_restore -l` but the rows the
 * target's migrations already wrote (schema_migrations, roles), PostGIS's own table, and the two
 * counts tables derived from `scans` (with scan_status_counts' sequence), which the triggers fill as
 * the scans load. Mirrors the README's `grep -vE`.
 */
const LEFT_OUT =
  / (TABLE DATA|SEQUENCE SET) public (schema_migrations|roles|spatial_ref_sys|scan_status_counts|scan_status_counts_id_seq|device_farm_captures) /;

/** What the counts tables hold, and what a GROUP BY of the scans says they must. */
async function counts(sql: Sql) {
  const [statuses, byStatus, captures, byDevice] = await Promise.all([
    sql`SELECT farm_id, status::text, sum(n)::int AS n FROM scan_status_counts
         GROUP BY farm_id, status HAVING sum(n) <> 0 ORDER BY farm_id NULLS FIRST, status NULLS FIRST`,
    sql`SELECT farm_id, status::text, count(*)::int AS n FROM scans
         GROUP BY farm_id, status ORDER BY farm_id NULLS FIRST, status NULLS FIRST`,
    sql`SELECT device_id, farm_id, n, last_created_at FROM device_farm_captures ORDER BY device_id, farm_id`,
    sql`SELECT device_id, farm_id, count(*)::int AS n, max(created_at) AS last_created_at FROM scans
         WHERE farm_id IS NOT NULL GROUP BY device_id, farm_id ORDER BY device_id, farm_id`,
  ]);
  return {
    statuses: [...statuses],
    byStatus: [...byStatus],
    captures: [...captures],
    byDevice: [...byDevice],
  };
}

/** The rows a restore must carry over, in a stable order. */
const content = async (sql: Sql) => ({
  scans: [
    ...(await sql`SELECT id, farm_id, device_id, status::text, animal_id, latest_grading_id, latest_grade
                    FROM scans ORDER BY id`),
  ],
  results: [...(await sql`SELECT id, scan_id, grade FROM grading_results ORDER BY id`)],
  moves: [...(await sql`SELECT device_id, from_farm_id, to_farm_id FROM device_farm_moves ORDER BY id`)],
});

/** Two farms, two devices (one moved), scans of every kind, animals, grading results; compacted once. */
async function seed(sql: Sql) {
  const [a, b] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('A'), ('B') RETURNING id`;
  const [d1, d2] = await sql<{ id: string }[]>`
    INSERT INTO devices (device_code, farm_id) VALUES ('dev-1', ${a!.id}), ('dev-2', ${b!.id}) RETURNING id`;
  const insert = (device: string, farm: string | null, status: string | null, count: number, tag: string) =>
    sql`INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, status, animal_eid)
        SELECT ${tag} || i, ${tag} || i, ${device}, ${farm}, ${status}::scan_status,
               CASE WHEN i = 1 THEN '982000000000001' END
          FROM generate_series(1, ${count}) i`;
  await insert(d1!.id, a!.id, 'ingested', 12, 'a-');
  await insert(d2!.id, b!.id, 'uploaded', 7, 'b-');
  await insert(d1!.id, null, 'error', 3, 'n-');
  await insert(d2!.id, b!.id, null, 2, 'x-');
  // The animal registered after its scan: 0006's trigger links the waiting scan of its farm.
  await sql`INSERT INTO animals (farm_id, tag_id, eid) VALUES (${a!.id}, 'cow-1', '982000000000001')`;
  // The grading worker, one scan at a time; a regrade of farm B in one statement.
  const graded = await sql<
    { id: string }[]
  >`SELECT id FROM scans WHERE capture_id LIKE 'a-%' ORDER BY capture_id LIMIT 5`;
  for (const s of graded) {
    await sql`INSERT INTO grading_results (scan_id, model_name, model_version, grade) VALUES (${s.id}, 'm', '1', 'A')`;
    await sql`UPDATE scans SET status = 'graded' WHERE id = ${s.id}`;
  }
  await sql`SELECT compact_scan_status_counts()`;
  await sql`UPDATE scans SET status = 'ingested' WHERE farm_id = ${b!.id} AND status = 'uploaded'`;
  await sql`DELETE FROM scans WHERE capture_id = 'n-3'`;
  // dev-2 moved to farm A (0023's trigger records it), then one more scan there.
  await sql`UPDATE devices SET farm_id = ${a!.id} WHERE id = ${d2!.id}`;
  await insert(d2!.id, a!.id, 'uploaded', 1, 'm-');
}

/** `pg_dump -Fc --data-only` of `source` into a temporary file; removed after the test. */
async function dataOnlyDump(t: { after: (fn: () => void) => void }, source: TestDatabase) {
  const dir = mkdtempSync(join(tmpdir(), 'cti-db-restore-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'cti.dump');
  await run(await pgBinary(source.sql, 'pg_dump'), ['-Fc', '--data-only', '-f', file, source.url]);
  return { dir, file };
}

/** pg_restore's table of contents without the LEFT_OUT entries, written as a list file (`-L`). */
async function restoreList(sql: Sql, dump: { dir: string; file: string }) {
  const { stdout } = await run(await pgBinary(sql, 'pg_restore'), ['-l', dump.file]);
  const kept = stdout.split('\n').filter((line) => !LEFT_OUT.test(line));
  const list = join(dump.dir, 'data.list');
  writeFileSync(list, `${kept.join('\n')}\n`);
  return { list, left: stdout.split('\n').filter((line) => LEFT_OUT.test(line)) };
}

describe('migration 0031: a data-only restore with the triggers on', () => {
  test('restores into a freshly migrated database, and the counts equal the restored scans', async (t) => {
    const source = await createTestDatabase();
    t.after(() => source.drop());
    await seed(source.sql);
    const expected = await content(source.sql);
    const dump = await dataOnlyDump(t, source);

    const target = await createTestDatabase();
    t.after(() => target.drop());
    const { list, left } = await restoreList(target.sql, dump);
    assert.equal(left.length, 6, `the list leaves out six entries:\n${left.join('\n')}`);
    // Without --disable-triggers; one transaction, stopping at the first error (pg_restore exits 1,
    // execFile rejects with its stderr).
    await run(await pgBinary(target.sql, 'pg_restore'), [
      '--data-only',
      '--single-transaction',
      '-L',
      list,
      '-d',
      target.url,
      dump.file,
    ]);

    assert.deepEqual(await content(target.sql), expected, 'the rows came over as they were');
    assert.equal(expected.scans.filter((s) => s.animal_id).length, 1);
    assert.equal(expected.scans.filter((s) => s.latest_grade === 'A').length, 5);
    const c = await counts(target.sql);
    assert.deepEqual(c.statuses, c.byStatus, 'scan_status_counts sums to the scans by farm and status');
    assert.deepEqual(c.captures, c.byDevice, 'device_farm_captures equals the scans by device and farm');
    assert.equal(c.byStatus.length, 6);
    assert.equal(c.byDevice.length, 3);
    assert.deepEqual(c.statuses, (await counts(source.sql)).statuses, 'the same counts as the source');
    const [rows] = await target.sql`SELECT count(*)::int AS n FROM scan_status_counts`;
    assert.equal(rows!.n, 6, 'the COPY of scans appended one row per farm and status');

    // Writes and the compaction go on as on any database (the counts' ids are the target's own).
    const [farm] = await target.sql`SELECT id FROM farms WHERE name = 'A'`;
    const [device] = await target.sql`SELECT id FROM devices WHERE device_code = 'dev-1'`;
    await target.sql`INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, status)
                     VALUES ('after', 'after', ${device!.id}, ${farm!.id}, 'ingested')`;
    await target.sql`SELECT compact_scan_status_counts()`;
    const after = await counts(target.sql);
    assert.deepEqual(after.statuses, after.byStatus, 'after a new scan and a compaction');
    assert.deepEqual(after.captures, after.byDevice);
  });

  test('with the dumped counts restored too they are doubled; the rebuild functions recount them', async (t) => {
    const source = await createTestDatabase();
    t.after(() => source.drop());
    await seed(source.sql);
    const dump = await dataOnlyDump(t, source);
    const target = await createTestDatabase();
    t.after(() => target.drop());
    // Only what cannot be loaded into a migrated database is left out: the counts tables' rows and
    // scan_status_counts' sequence come from the dump, and the triggers count the scans as well.
    const { stdout } = await run(await pgBinary(target.sql, 'pg_restore'), ['-l', dump.file]);
    const list = join(dump.dir, 'with-counts.list');
    writeFileSync(
      list,
      stdout
        .split('\n')
        .filter((line) => !/ TABLE DATA public (schema_migrations|roles|spatial_ref_sys) /.test(line))
        .join('\n'),
    );
    await run(await pgBinary(target.sql, 'pg_restore'), [
      '--data-only',
      '--single-transaction',
      '-L',
      list,
      '-d',
      target.url,
      dump.file,
    ]);
    const doubled = await counts(target.sql);
    assert.deepEqual(
      doubled.statuses,
      doubled.byStatus.map((r) => ({ ...r, n: 2 * r.n })),
      'each count twice: the dumped rows and the triggers',
    );
    assert.deepEqual(
      doubled.captures.map((r) => r.n),
      doubled.byDevice.map((r) => 2 * r.n),
    );

    const [rebuilt] = await target.sql<{ statuses: number; captures: number }[]>`
      SELECT rebuild_scan_status_counts()::int AS statuses, rebuild_device_farm_captures()::int AS captures`;
    assert.deepEqual(rebuilt, { statuses: 6, captures: 3 });
    const c = await counts(target.sql);
    assert.deepEqual(c.statuses, c.byStatus);
    assert.deepEqual(c.captures, c.byDevice);
    // Writes and the compaction go on after it.
    await target.sql`UPDATE scans SET status = 'graded' WHERE status = 'ingested'`;
    await target.sql`SELECT compact_scan_status_counts()`;
    const after = await counts(target.sql);
    assert.deepEqual(after.statuses, after.byStatus);
  });

  test('a plain-format data-only dump through psql, then the rebuilds: exact', async (t) => {
    const source = await createTestDatabase();
    t.after(() => source.drop());
    await seed(source.sql);
    const expected = await content(source.sql);
    const dir = mkdtempSync(join(tmpdir(), 'cti-db-restore-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'cti.sql');
    // As the README says: the same tables left out, on pg_dump's side (a plain dump has no list).
    const excluded = [
      'schema_migrations',
      'roles',
      'spatial_ref_sys',
      'scan_status_counts',
      'device_farm_captures',
    ];
    await run(await pgBinary(source.sql, 'pg_dump'), [
      '--data-only',
      ...excluded.map((table) => `--exclude-table-data=${table}`),
      '-f',
      file,
      source.url,
    ]);
    const target = await createTestDatabase();
    t.after(() => target.drop());
    await run(await pgBinary(target.sql, 'psql'), [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '--single-transaction',
      '-f',
      file,
      target.url,
    ]);
    assert.deepEqual(await content(target.sql), expected);
    await target.sql`SELECT rebuild_scan_status_counts(), rebuild_device_farm_captures()`;
    const c = await counts(target.sql);
    assert.deepEqual(c.statuses, c.byStatus);
    assert.deepEqual(c.captures, c.byDevice);
    await target.sql`UPDATE scans SET status = 'graded' WHERE status = 'ingested'`;
    await target.sql`SELECT compact_scan_status_counts()`;
    const after = await counts(target.sql);
    assert.deepEqual(after.statuses, after.byStatus, 'writes and the compaction go on after it');
  });

  test('every function of the schema that names a table has its own search_path', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    // The migrations' functions (not PostGIS's and the other extensions'); a new one, or one
    // re-created by CREATE OR REPLACE (which drops its settings), must SET search_path.
    const rows = await db.sql<{ name: string; config: string[] | null }[]>`
      SELECT p.proname AS name, p.proconfig AS config
        FROM pg_proc p
       WHERE p.pronamespace = current_schema()::regnamespace
         AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
       ORDER BY 1`;
    // Trigger functions that name no table (pg_notify only) and fire once per row: left as they are.
    const nameNoTable = ['notify_scan_change', 'notify_session_everyone', 'notify_session_user'];
    const missing = rows
      .filter((r) => !nameNoTable.includes(r.name))
      .filter((r) => !(r.config ?? []).includes('search_path=public, pg_temp'))
      .map((r) => r.name);
    assert.deepEqual(missing, [], 'functions without search_path = public, pg_temp');
    assert.ok(rows.length >= 18, `the migrations' functions were found (${rows.length})`);
    // And every trigger at work with an empty search_path, as pg_restore runs them: the name list above
    // trusts the notify_* functions to name no table, this proves it (a later CREATE OR REPLACE of one
    // that reads a table fails here), and a trigger added later must be fired here too.
    const triggers = await db.sql<{ fn: string }[]>`
      SELECT DISTINCT p.proname AS fn FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
       WHERE NOT t.tgisinternal ORDER BY 1`;
    assert.deepEqual(
      triggers.map((r) => r.fn),
      [...FIRED_WITHOUT_SEARCH_PATH].sort(),
      'every trigger function is fired by fireEveryTrigger',
    );
    const moves = await db.sql.begin(async (tx) => {
      await tx`SELECT set_config('search_path', '', true)`;
      return fireEveryTrigger(tx);
    });
    assert.equal(moves, 1, 'the device move was recorded');
    const c = await counts(db.sql);
    assert.equal(c.byStatus.length, 1, 'one scan left');
    assert.deepEqual(c.statuses, c.byStatus, 'counted and compacted without a search_path');
    assert.deepEqual(c.captures, c.byDevice);
    const [rebuilt] = await db.sql.begin(async (tx) => {
      await tx`SELECT set_config('search_path', '', true)`;
      return tx<{ statuses: number; captures: number }[]>`
        SELECT public.rebuild_scan_status_counts()::int AS statuses,
               public.rebuild_device_farm_captures()::int AS captures`;
    });
    assert.deepEqual(rebuilt, { statuses: 1, captures: 1 });
    assert.deepEqual((await counts(db.sql)).statuses, c.statuses);
  });
});

/** The trigger functions fireEveryTrigger fires (each of the schema's triggers at least once). */
const FIRED_WITHOUT_SEARCH_PATH = [
  'clear_device_farm_captures',
  'clear_scan_status_counts',
  'count_device_farm_capture',
  'count_device_farm_captures_inserted',
  'count_scan_status_deleted',
  'count_scan_status_inserted',
  'count_scan_status_updated',
  'cti_link_scans_to_animal',
  'grading_results_refresh_scan',
  'notify_scan_change',
  'notify_session_everyone',
  'notify_session_user',
  'record_device_farm_move',
  'uncount_device_farm_captures',
];

/**
 * Writes that fire every trigger of the schema — rows of `scans`, `animals`, `grading_results`,
 * `devices`, the session tables, TRUNCATEs — with names qualified as pg_restore's are, then a
 * compaction; leaves farm E with one scan. Returns the device moves recorded.
 */
async function fireEveryTrigger(tx: TransactionSql) {
  const [user] = await tx<
    { id: string }[]
  >`INSERT INTO public.users (email) VALUES ('e@example.com') RETURNING id`;
  await tx`INSERT INTO public.user_roles (user_id, role_id) SELECT ${user!.id}, id FROM public.roles WHERE name = 'farmer'`;
  await tx`INSERT INTO public.sessions (token_hash, user_id, csrf_token, expires_at)
           VALUES (sha256('e'), ${user!.id}, 'c', now() + interval '1 hour')`;
  await tx`UPDATE public.sessions SET csrf_token = 'd'`;
  await tx`UPDATE public.users SET email = 'f@example.com'`;
  await tx`UPDATE public.roles SET name = name WHERE false`;
  await tx`DELETE FROM public.sessions`;
  await tx`DELETE FROM public.user_roles`;
  await tx`TRUNCATE public.sessions, public.user_roles, public.users CASCADE`; // scans reference users
  const [e, f] = await tx<{ id: string }[]>`INSERT INTO public.farms (name) VALUES ('E'), ('F') RETURNING id`;
  const [device] = await tx<{ id: string }[]>`
    INSERT INTO public.devices (device_code, farm_id) VALUES ('dev-e', ${e!.id}) RETURNING id`;
  const scan = (tag: string) => tx`
    INSERT INTO public.scans (capture_id, ingest_key, device_id, farm_id, status, animal_eid)
    VALUES (${tag}, ${tag}, ${device!.id}, ${e!.id}, 'uploaded', '982000000000009') RETURNING id`;
  await scan('e1');
  await tx`TRUNCATE public.scans CASCADE`;
  const [s] = await scan('e2');
  await scan('e3');
  const [animal] = await tx<{ id: string }[]>`
    INSERT INTO public.animals (farm_id, tag_id, eid) VALUES (${e!.id}, 'cow-e', '982000000000009') RETURNING id`;
  await tx`UPDATE public.animals SET eid = '982000000000008' WHERE id = ${animal!.id}`;
  await tx`INSERT INTO public.grading_results (scan_id, model_name, model_version, grade)
           VALUES (${s!.id}, 'm', '1', 'A')`;
  await tx`UPDATE public.scans SET status = 'graded', farm_id = ${f!.id} WHERE id = ${s!.id}`;
  await tx`UPDATE public.scans SET farm_id = ${e!.id} WHERE id = ${s!.id}`;
  await tx`DELETE FROM public.grading_results`;
  await tx`DELETE FROM public.scans WHERE capture_id = 'e3'`;
  await tx`UPDATE public.devices SET farm_id = ${f!.id} WHERE id = ${device!.id}`;
  await tx`SELECT public.compact_scan_status_counts()`;
  const [moves] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM public.device_farm_moves`;
  return moves!.n;
}
