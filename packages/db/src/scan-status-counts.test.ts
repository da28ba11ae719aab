import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import type { Sql } from 'postgres';
import { LOCK_NAMESPACE, LOCK_SCAN_COUNTS_COMPACT, MIGRATIONS_DIR, migrate } from './index.ts';
import { createTestDatabase } from './testing.ts';

// Migration 0028 on real Postgres: scan_status_counts sums to a count(*) of the scans by farm and
// status whatever writes them (inserts, changes of status or farm, deletes, TRUNCATE, scans without a
// farm or a status, a rolled-back transaction, writers at once), its compaction loses nothing while
// writers are open, and writers do not wait for one another on it.

/** What the deltas sum to, and what a GROUP BY of the scans says they must. */
async function counts(sql: Sql) {
  const [stored, counted] = await Promise.all([
    sql`SELECT farm_id, status::text, sum(n)::int AS n FROM scan_status_counts
         GROUP BY farm_id, status HAVING sum(n) <> 0 ORDER BY farm_id NULLS FIRST, status NULLS FIRST`,
    sql`SELECT farm_id, status::text, count(*)::int AS n FROM scans
         GROUP BY farm_id, status ORDER BY farm_id NULLS FIRST, status NULLS FIRST`,
  ]);
  return { stored: [...stored], counted: [...counted] };
}

async function assertExact(sql: Sql, message: string) {
  const c = await counts(sql);
  assert.deepEqual(c.stored, c.counted, message);
  return c.counted;
}

const deltaRows = async (sql: Sql) =>
  Number((await sql`SELECT count(*)::int AS n FROM scan_status_counts`)[0]!.n);

async function farmsAndDevice(sql: Sql) {
  const [a] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('A') RETURNING id`;
  const [b] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('B') RETURNING id`;
  const [d] = await sql<{ id: string }[]>`
    INSERT INTO devices (device_code, farm_id) VALUES ('dev-1', ${a!.id}) RETURNING id`;
  return { a: a!.id, b: b!.id, device: d!.id };
}

let serial = 0;
/** One INSERT of `count` scans of `device` on `farm` (null: none) with `status` (null: none). */
const scans = (sql: Sql, device: string, farm: string | null, status: string | null, count = 1) => {
  const tag = `cap-${++serial}-`;
  return sql<{ id: string }[]>`
    INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, status)
    SELECT ${tag} || i, ${tag} || i, ${device}, ${farm}, ${status}::scan_status FROM generate_series(1, ${count}) i
    RETURNING id`;
};

/**
 * Runs `work` in a transaction held open until `release()`: `opened` once `work` is done (its
 * rows and locks held), `done` at commit (or rollback, when `work` or release's `fail` throws).
 */
function heldOpen<T>(sql: Sql, work: (tx: Sql) => Promise<T>) {
  let open!: () => void;
  let release!: (fail?: boolean) => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const released = new Promise<boolean>((resolve) => {
    release = (fail = false) => resolve(fail);
  });
  const done = sql.begin(async (tx): Promise<T> => {
    const result = await work(tx as unknown as Sql);
    open();
    if (await released) throw new Error('rolled back on purpose');
    return result;
  }) as Promise<T>;
  // Handled now: a test awaits `done` (assert.rejects) only after awaiting others, and a rejection
  // left unhandled until then fails the test that is running (PromiseRejectionHandledWarning).
  done.catch(() => {});
  return { opened, done, release };
}

/** Returns once a session running `query` (its start) waits for a lock. */
async function waitingOnLock(sql: Sql, query: string) {
  for (;;) {
    const [row] = await sql`
      SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ${`${query}%`}`;
    if (row!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A writer that must not wait for another transaction: a lock wait fails it instead of hanging. */
const noWait = <T>(sql: Sql, work: (tx: Sql) => Promise<T>) =>
  sql.begin(async (tx): Promise<T> => {
    await tx`SET LOCAL lock_timeout = '10s'`;
    return work(tx as unknown as Sql);
  }) as Promise<T>;

describe('migration 0028: scan_status_counts', () => {
  test('equals count(*) by farm and status after inserts, changes of status and farm, deletes and TRUNCATE', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    const [one] = await scans(sql, device, a, 'uploaded');
    await scans(sql, device, a, 'ingested', 40);
    await scans(sql, device, b, 'graded', 25);
    await scans(sql, device, null, 'uploaded', 3);
    const [noStatus] = await scans(sql, device, b, null);
    assert.equal((await assertExact(sql, 'after inserts')).length, 5);

    // The grading worker, one scan at a time; a regrade of a farm, one statement.
    await sql`UPDATE scans SET status = 'graded' WHERE id = ${one!.id}`;
    await sql`UPDATE scans SET status = 'error' WHERE farm_id = ${a} AND status = 'ingested' AND capture_id LIKE '%-1_'`;
    await sql`UPDATE scans SET status = 'ingested' WHERE id = ${noStatus!.id}`;
    await assertExact(sql, 'after status changes');
    // Moves: farm to farm (with a change of status in the same statement), farm to none, none to farm.
    await sql`UPDATE scans SET farm_id = ${b} WHERE id = ${one!.id}`;
    await sql`UPDATE scans SET farm_id = ${a}, status = 'graded' WHERE farm_id = ${b} AND status = 'graded' AND capture_id LIKE '%-2'`;
    await sql`UPDATE scans SET farm_id = NULL WHERE farm_id = ${a} AND status = 'error'`;
    await sql`UPDATE scans SET farm_id = ${b} WHERE farm_id IS NULL AND capture_id LIKE '%-1'`;
    await assertExact(sql, 'after moves');
    // An upsert that updates an existing scan's status, an update of neither farm nor status.
    const [existing] = await sql`SELECT ingest_key FROM scans WHERE id = ${one!.id}`;
    await sql`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, status)
      VALUES ('x', ${existing!.ingest_key}, ${device}, ${a}, 'uploaded')
      ON CONFLICT (ingest_key) DO UPDATE SET status = 'error'`;
    await assertExact(sql, 'after INSERT … ON CONFLICT DO UPDATE');
    const rows = await deltaRows(sql);
    await sql`UPDATE scans SET capture_id = capture_id || '-renamed', status = status, farm_id = farm_id`;
    assert.equal(await deltaRows(sql), rows, 'an update changing neither farm nor status appends nothing');

    await sql`DELETE FROM scans WHERE id = ${one!.id}`;
    await sql`DELETE FROM scans WHERE farm_id = ${b}`;
    await assertExact(sql, 'after deletes');
    await sql`TRUNCATE scans CASCADE`;
    assert.equal(await deltaRows(sql), 0, 'TRUNCATE empties it');
  });

  test('compaction folds the deltas into one row per farm and status, dropping those at 0', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    for (let i = 0; i < 5; i++) {
      const [s] = await scans(sql, device, a, 'uploaded');
      await sql`UPDATE scans SET status = 'graded' WHERE id = ${s!.id}`;
    }
    await scans(sql, device, b, 'error', 2);
    await sql`DELETE FROM scans WHERE farm_id = ${b}`;
    await scans(sql, device, null, null);
    const before = await deltaRows(sql);
    assert.ok(before > 10);
    const [{ folded }] = (await sql`SELECT compact_scan_status_counts()::int AS folded`) as unknown as [
      { folded: number },
    ];
    assert.equal(folded, before);
    const left =
      await sql`SELECT farm_id, status::text, n::int FROM scan_status_counts ORDER BY farm_id NULLS FIRST`;
    assert.deepEqual(
      left.map((r) => [r.farm_id, r.status, r.n]),
      [
        [null, null, 1],
        [a, 'graded', 5],
      ],
      "uploaded at 0 and farm B's errors at 0 are gone",
    );
    await assertExact(sql, 'after compaction');
  });

  test('a rolled-back transaction leaves no count', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    const [s] = await scans(sql, device, a, 'ingested');
    const rows = await deltaRows(sql);
    await assert.rejects(
      sql.begin(async (tx) => {
        await scans(tx as unknown as Sql, device, a, 'uploaded', 10);
        await tx`UPDATE scans SET status = 'graded', farm_id = ${b} WHERE id = ${s!.id}`;
        await tx`DELETE FROM scans WHERE farm_id = ${a}`;
        throw new Error('the ingest failed');
      }),
      /the ingest failed/,
    );
    assert.equal(await deltaRows(sql), rows);
    await assertExact(sql, 'after a rollback');
  });

  test('writers of one farm at once do not wait for one another, and all count', async (t) => {
    const db = await createTestDatabase({ max: 6 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, device } = await farmsAndDevice(sql);
    // Two devices: one device's ingests already queue on its device_farm_captures row (migration 0024).
    const [two] = await sql<{ id: string }[]>`
      INSERT INTO devices (device_code, farm_id) VALUES ('dev-2', ${a}) RETURNING id`;
    const graded = await scans(sql, two!.id, a, 'ingested', 4);
    // An ingest and a grading of farm A held open; meanwhile another ingest, grading, move and delete
    // on farm A commit (a counter row per farm and status would make each wait for the open ones).
    const ingest = heldOpen(sql, (tx) => scans(tx, device, a, 'uploaded'));
    const grading = heldOpen(sql, (tx) => tx`UPDATE scans SET status = 'graded' WHERE id = ${graded[0]!.id}`);
    await Promise.all([ingest.opened, grading.opened]);
    await noWait(sql, (tx) => scans(tx, two!.id, a, 'uploaded'));
    await noWait(sql, (tx) => tx`UPDATE scans SET status = 'graded' WHERE id = ${graded[1]!.id}`);
    await noWait(sql, (tx) => tx`UPDATE scans SET farm_id = NULL WHERE id = ${graded[2]!.id}`);
    await noWait(sql, (tx) => tx`DELETE FROM scans WHERE id = ${graded[3]!.id}`);
    ingest.release();
    grading.release(true); // this one rolls back
    await ingest.done;
    await assert.rejects(grading.done, /rolled back on purpose/);
    const counted = await assertExact(sql, 'after concurrent writers');
    assert.deepEqual(
      counted.map((r) => [r.farm_id, r.status, r.n]),
      [
        [null, 'ingested', 1],
        [a, 'graded', 1],
        [a, 'ingested', 1],
        [a, 'uploaded', 2],
      ],
    );
  });

  test('a compaction while writers are open loses nothing; a second one at once does nothing', async (t) => {
    const db = await createTestDatabase({ max: 6 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    const [s] = await scans(sql, device, a, 'ingested', 3);
    await scans(sql, device, a, 'ingested'); // two rows of one pair: something to fold (0031)
    // Open: an ingest that commits after the compaction and a grading that rolls back after it.
    const ingest = heldOpen(sql, (tx) => scans(tx, device, b, 'uploaded', 2));
    const grading = heldOpen(sql, (tx) => tx`UPDATE scans SET status = 'graded' WHERE id = ${s!.id}`);
    await Promise.all([ingest.opened, grading.opened]);
    const compact = (tx: Sql) => tx<{ folded: number }[]>`SELECT compact_scan_status_counts()::int AS folded`;
    const first = heldOpen(sql, compact);
    await first.opened;
    const [second] = await noWait(sql, compact);
    assert.equal(second!.folded, 0, 'the second compaction skips');
    const [held] = await sql`
      SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND classid = ${LOCK_NAMESPACE} AND objid = ${LOCK_SCAN_COUNTS_COMPACT} AND objsubid = 2`;
    assert.equal(held!.n, 1, 'the first holds the lock advisory-locks.ts names');
    first.release();
    const [folded] = await first.done;
    assert.equal(folded!.folded, 2, 'only the committed deltas were folded');
    ingest.release();
    grading.release(true);
    await ingest.done;
    await assert.rejects(grading.done);
    await assertExact(sql, 'after a compaction with writers open');
    await sql`SELECT compact_scan_status_counts()`;
    assert.equal(await deltaRows(sql), 2);
    await assertExact(sql, 'after the next compaction');
  });

  test('a TRUNCATE of scans during a compaction leaves no count behind', async (t) => {
    const db = await createTestDatabase({ max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, device } = await farmsAndDevice(sql);
    await scans(sql, device, a, 'ingested', 3);
    await scans(sql, device, a, 'uploaded');
    const compaction = heldOpen(sql, (tx) => tx`SELECT compact_scan_status_counts()`);
    await compaction.opened;
    // The TRUNCATE waits for the compaction: a DELETE would not see the sums it committed.
    const truncate = sql`TRUNCATE scans CASCADE`.execute();
    await waitingOnLock(sql, 'TRUNCATE scans');
    compaction.release();
    await compaction.done;
    await truncate;
    assert.equal(await deltaRows(sql), 0);
  });

  test('a backlog is folded in statements of at most max_rows rows, oldest first (migration 0030)', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    for (let i = 0; i < 12; i++) await scans(sql, device, a, 'ingested');
    for (let i = 0; i < 13; i++) await scans(sql, device, i % 2 ? b : null, 'graded');
    assert.equal(await deltaRows(sql), 25);
    const compact = async (max: number) =>
      (await sql<{ folded: number }[]>`SELECT compact_scan_status_counts(${max}::int)::int AS folded`)[0]!
        .folded;
    // Each statement folds at most 10 rows (a backlog never needs one statement longer than serve's
    // statement_timeout); the sums it writes go last, folded again by a later statement.
    const folded = [await compact(10), await compact(10)];
    assert.deepEqual(folded, [10, 10]);
    await assertExact(sql, 'after two bounded compactions');
    const [first] = await sql`SELECT min(id)::int AS id FROM scan_status_counts`;
    assert.ok(first!.id > 20, 'the oldest rows went first');
    while ((await compact(10)) === 10);
    await assertExact(sql, 'after the backlog');
    assert.equal(await deltaRows(sql), 3, 'one row per farm and status');
    await assert.rejects(compact(0), /compact_scan_status_counts: max_rows must be at least 1, not 0/);
  });

  test('COPY into scans is counted like an INSERT', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, device } = await farmsAndDevice(sql);
    const lines = [`c1\tk1\t${device}\t${a}\tgraded\n`, `c2\tk2\t${device}\t${a}\tgraded\n`];
    lines.push(`c3\tk3\t${device}\t\\N\t\\N\n`);
    const copy =
      await sql`COPY scans (capture_id, ingest_key, device_id, farm_id, status) FROM STDIN`.writable();
    await pipeline(Readable.from(lines), copy);
    const counted = await assertExact(sql, 'after COPY');
    assert.deepEqual(
      counted.map((r) => [r.farm_id, r.status, r.n]),
      [
        [null, null, 1],
        [a, 'graded', 2],
      ],
    );
  });

  test('a REPEATABLE READ reader sees the same totals, matching its scans, across a compaction and writes', async (t) => {
    const db = await createTestDatabase({ max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    await scans(sql, device, a, 'ingested', 3);
    await scans(sql, device, b, 'graded', 2);
    const read = async (tx: Sql) => {
      const [row] = await tx`
        SELECT (SELECT sum(n)::int FROM scan_status_counts WHERE farm_id = ${a}) AS stored,
               (SELECT count(*)::int FROM scans WHERE farm_id = ${a}) AS counted`;
      return row!;
    };
    let go!: () => void;
    const wrote = new Promise<void>((resolve) => {
      go = resolve;
    });
    let snapshot!: () => void;
    const took = new Promise<void>((resolve) => {
      snapshot = resolve;
    });
    const reader = sql.begin('ISOLATION LEVEL REPEATABLE READ', async (tx) => {
      const first = await read(tx as unknown as Sql); // takes the transaction's snapshot
      snapshot();
      await wrote;
      return [first, await read(tx as unknown as Sql)];
    });
    await took;
    await scans(sql, device, a, 'uploaded', 4);
    await sql`UPDATE scans SET status = 'graded' WHERE farm_id = ${a} AND status = 'ingested'`;
    const [compacted] = await sql`SELECT compact_scan_status_counts()::int AS folded`;
    assert.ok(compacted!.folded > 2, 'the compaction committed while the reader was open');
    go();
    const [first, second] = await reader;
    assert.deepEqual(first, { stored: 3, counted: 3 });
    assert.deepEqual(second, first, 'its snapshot: the deltas it saw, not the sums folded since');
    assert.deepEqual(await read(sql), { stored: 7, counted: 7 });
  });

  test('compaction works on a database that publishes the table for logical replication (migration 0030)', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, device } = await farmsAndDevice(sql);
    const [s] = await scans(sql, device, a, 'uploaded', 2);
    await sql`UPDATE scans SET status = 'graded' WHERE id = ${s!.id}`;
    // What FOR ALL TABLES (a managed service's blue/green upgrade or logical replica) also does; a
    // table published for DELETE needs a replica identity: without one each DELETE of it fails (55000).
    await sql`CREATE PUBLICATION cti_counts_test FOR TABLE scans, scan_status_counts`;
    const [row] = await sql<{ folded: number }[]>`SELECT compact_scan_status_counts()::int AS folded`;
    assert.equal(row!.folded, 3);
    assert.equal(await deltaRows(sql), 2);
    await assertExact(sql, 'after a compaction of a published table');
    await sql`DELETE FROM scans WHERE id = ${s!.id}`;
    await sql`SELECT compact_scan_status_counts()`;
    await assertExact(sql, 'after a delete and another compaction');
  });

  test('applied to a database with scans: back-filled from them', async (t) => {
    const db = await createTestDatabase({ migrated: false });
    t.after(() => db.drop());
    const before28 = mkdtempSync(join(tmpdir(), 'cti-db-0027-'));
    t.after(() => rmSync(before28, { recursive: true, force: true }));
    cpSync(MIGRATIONS_DIR, before28, {
      recursive: true,
      filter: (src) => !/00(2[89]|[3-9]\d)_/.test(src),
    });
    const { sql } = db;
    await migrate({ sql, dir: before28 });
    const { a, b, device } = await farmsAndDevice(sql);
    await scans(sql, device, a, 'graded', 30);
    await scans(sql, device, a, 'error', 2);
    await scans(sql, device, b, 'ingested', 5);
    await scans(sql, device, null, 'uploaded', 4);
    await scans(sql, device, null, null);
    await migrate({ sql });
    const counted = await assertExact(sql, 'back-filled');
    assert.equal(counted.length, 5);
    assert.equal(await deltaRows(sql), 5, 'one row per farm and status');
  });
});

describe('migration 0031: an idle compaction, and the rebuilds', () => {
  const compact = async (sql: Sql, max = 100_000) =>
    (await sql<{ folded: number }[]>`SELECT compact_scan_status_counts(${max}::int)::int AS folded`)[0]!
      .folded;
  /** Every row with its version (xmin) and place (ctid): a rewrite changes both. */
  const versions = (sql: Sql) =>
    sql`SELECT id::int, xmin::text, ctid::text, farm_id, status::text, n::int FROM scan_status_counts ORDER BY id`;

  test('a compaction with nothing to fold writes nothing; one after new deltas folds exactly', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    const [s] = await scans(sql, device, a, 'ingested', 4);
    await scans(sql, device, b, 'graded', 2);
    await scans(sql, device, null, null);
    await sql`UPDATE scans SET status = 'graded' WHERE id = ${s!.id}`;
    assert.equal(await compact(sql), 5);
    const folded = [...(await versions(sql))];
    assert.equal(folded.length, 4, 'one row per farm and status');

    // Nothing to fold: nothing deleted or inserted (the rows keep their version and place), and it
    // says it folded nothing — also when max_rows just covers the rows, as serve's batch does.
    assert.equal(await compact(sql), 0);
    assert.equal(await compact(sql, 5), 0);
    assert.deepEqual([...(await versions(sql))], folded);
    await assertExact(sql, 'after the idle compactions');

    // New deltas of a pair already folded, and one of a new pair: folded with theirs, exactly.
    await scans(sql, device, a, 'graded', 3);
    await scans(sql, device, b, 'uploaded');
    await sql`DELETE FROM scans WHERE farm_id = ${b} AND status = 'graded'`;
    assert.equal(await compact(sql), 7);
    const [row] = await sql`SELECT count(*)::int AS rows, count(DISTINCT (farm_id, status))::int AS pairs
                              FROM scan_status_counts`;
    assert.deepEqual({ ...row }, { rows: 4, pairs: 4 }, "one row per pair, farm B's graded at 0 gone");
    await assertExact(sql, 'after new deltas and a compaction');
    assert.equal(await compact(sql), 0);

    // A row at 0 alone (written by hand) is something to fold: it goes.
    await sql`INSERT INTO scan_status_counts (farm_id, status, n) VALUES (${b}, 'error', 0)`;
    assert.equal(await compact(sql), 5);
    assert.equal(await deltaRows(sql), 4);
  });

  test('a full window of distinct pairs: folded while the table has a pair twice, left alone once it has not', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    await scans(sql, device, a, 'ingested');
    await scans(sql, device, b, 'ingested');
    await scans(sql, device, null, 'ingested');
    await scans(sql, device, a, 'ingested'); // the first row's pair again, outside a window of 3
    // More rows than max_rows of distinct pairs (serve's batch exceeds the pairs: not serve's case).
    assert.equal(await compact(sql, 3), 3, 'the oldest three, all distinct, folded as before 0031');
    assert.equal(await compact(sql, 10), 4);
    await assertExact(sql, 'after the windows');
    const folded = [...(await versions(sql))];
    assert.equal(folded.length, 3);
    // As many pairs as max_rows, each one row: a full window, and nothing to fold anywhere.
    assert.equal(await compact(sql, 3), 0);
    assert.deepEqual([...(await versions(sql))], folded);
  });

  test('the rebuilds recount both tables from the scans, after an open writer commits', async (t) => {
    const db = await createTestDatabase({ max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql);
    await scans(sql, device, a, 'graded', 5);
    await scans(sql, device, b, 'ingested', 2);
    await scans(sql, device, null, 'error');
    // Counts gone wrong (rows loaded with triggers off, a hand edit): a delta no scan backs, a pair
    // missing, a device's count off.
    await sql`INSERT INTO scan_status_counts (farm_id, status, n) VALUES (${a}, 'graded', 1000)`;
    await sql`DELETE FROM scan_status_counts WHERE farm_id = ${b}`;
    await sql`UPDATE device_farm_captures SET n = 99 WHERE farm_id = ${a}`;
    await sql`DELETE FROM device_farm_captures WHERE farm_id = ${b}`;

    // An ingest held open: the rebuild waits for it (writes to scans wait for the rebuild, and the
    // rebuild for them), then counts its scans once.
    const ingest = heldOpen(sql, (tx) => scans(tx, device, a, 'uploaded', 2));
    await ingest.opened;
    const rebuild = sql<{ n: number }[]>`SELECT rebuild_scan_status_counts()::int AS n`.execute();
    await waitingOnLock(sql, 'SELECT rebuild_scan_status_counts');
    ingest.release();
    await ingest.done;
    assert.deepEqual([...(await rebuild)], [{ n: 4 }]);
    await assertExact(sql, 'after the rebuild');
    assert.equal(await deltaRows(sql), 4, 'one row per farm and status');

    const [captures] = await sql`SELECT rebuild_device_farm_captures()::int AS n`;
    assert.equal(captures!.n, 2);
    const [stored, counted] = await Promise.all([
      sql`SELECT device_id, farm_id, n, last_created_at FROM device_farm_captures ORDER BY farm_id`,
      sql`SELECT device_id, farm_id, count(*)::int AS n, max(created_at) AS last_created_at FROM scans
           WHERE farm_id IS NOT NULL GROUP BY device_id, farm_id ORDER BY farm_id`,
    ]);
    assert.deepEqual([...stored], [...counted]);
  });

  test('a rebuild in a REPEATABLE READ or SERIALIZABLE transaction is refused: its snapshot would miss scans committed before its lock (migration 0032)', async (t) => {
    const db = await createTestDatabase({ max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, device } = await farmsAndDevice(sql);
    await scans(sql, device, a, 'graded', 2);
    const captures = () =>
      Promise.all([
        sql`SELECT device_id, farm_id, n, last_created_at FROM device_farm_captures ORDER BY farm_id`,
        sql`SELECT device_id, farm_id, count(*)::int AS n, max(created_at) AS last_created_at FROM scans
             WHERE farm_id IS NOT NULL GROUP BY device_id, farm_id ORDER BY farm_id`,
      ]).then(([stored, counted]) => ({ stored: [...stored], counted: [...counted] }));
    for (const isolation of ['repeatable read', 'serializable']) {
      for (const rebuild of ['rebuild_scan_status_counts', 'rebuild_device_farm_captures']) {
        const failure = await sql
          .begin(`isolation level ${isolation}`, async (tx) => {
            await tx`SELECT count(*) FROM scans`; // the transaction's snapshot, taken here
            await scans(sql, device, a, 'uploaded'); // an ingest on another connection, committed after it
            await tx.unsafe(`SELECT ${rebuild}()`);
          })
          .then(
            () => undefined,
            (err: { code?: string; message?: string }) => err,
          );
        await assertExact(sql, `${isolation}, ${rebuild}: every scan counted`);
        const c = await captures();
        assert.deepEqual(c.stored, c.counted, `${isolation}, ${rebuild}: device_farm_captures`);
        assert.equal(failure?.code, '25000', `${isolation}, ${rebuild}: refused`);
        assert.match(
          failure.message ?? '',
          new RegExp(`^${rebuild}: run it in a READ COMMITTED transaction`),
        );
      }
    }
    // In READ COMMITTED (psql's and the server's default) each runs, and recounts every scan.
    const [rebuilt] =
      await sql`SELECT rebuild_scan_status_counts()::int AS s, rebuild_device_farm_captures()::int AS d`;
    assert.deepEqual(rebuilt, { s: 2, d: 1 });
    await assertExact(sql, 'read committed');
  });
});
