import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Sql } from 'postgres';
import { MIGRATIONS_DIR, migrate } from './index.ts';
import { createTestDatabase } from './testing.ts';

// Migration 0024 (review r14 F9, F5, F8) on real Postgres: device_farm_captures stays equal to a
// count of the scans whatever writes them, the backfill of a database that has scans (moves made
// before 0023 are not invented from them), and a move stamped with the clock's time, not its
// transaction's start.

/** device_farm_captures as rows, and what a GROUP BY of scans says it must hold. */
async function stored(sql: Sql) {
  const [a, b] = await Promise.all([
    sql`SELECT device_id, farm_id, n, last_created_at FROM device_farm_captures ORDER BY device_id, farm_id`,
    sql`SELECT device_id, farm_id, count(*)::int AS n, max(created_at) AS last_created_at FROM scans
         WHERE farm_id IS NOT NULL GROUP BY device_id, farm_id ORDER BY device_id, farm_id`,
  ]);
  return { stored: [...a], counted: [...b] };
}

let serial = 0;
const scan = (sql: Sql, device: string, farm: string | null, createdAt = 'now()') => {
  const key = `cap-${++serial}`;
  return sql`INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, created_at)
             VALUES (${key}, ${key}, ${device}, ${farm}, ${sql.unsafe(createdAt)}) RETURNING id`;
};

async function farmsAndDevice(sql: Sql, code: string, on: 'a' | 'b' = 'b') {
  const [a] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES (${`A ${code}`}) RETURNING id`;
  const [b] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES (${`B ${code}`}) RETURNING id`;
  const [d] = await sql<{ id: string }[]>`
    INSERT INTO devices (device_code, farm_id) VALUES (${code}, ${on === 'a' ? a!.id : b!.id}) RETURNING id`;
  return { a: a!.id, b: b!.id, device: d!.id };
}

/**
 * Runs `work` in a transaction held open for 0.5 s after it (a concurrent writer's view): `opened`
 * once `work` is done (its row locks held), `done` at commit.
 */
function heldOpen(sql: Sql, work: (tx: Sql) => Promise<unknown>) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const done = sql.begin(async (tx) => {
    await work(tx as unknown as Sql);
    open();
    await tx`SELECT pg_sleep(0.5)`;
  });
  return { opened, done };
}

describe('migration 0024: device_farm_captures and moves', () => {
  test('kept exact by insert, a change of farm, device or created_at, and deletes (one scan, a farm’s scans, TRUNCATE)', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql, 'dev-1');
    const other = (await farmsAndDevice(sql, 'dev-2')).device;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await scan(sql, device, b, `now() - interval '${i} hours'`))[0]!.id);
    await scan(sql, device, null);
    await scan(sql, other, a);
    let s = await stored(sql);
    assert.deepEqual(s.stored, s.counted);
    assert.equal(s.stored.length, 2);

    // The newest scan of B moves to A (the scan assignment form), another to the other device.
    await sql`UPDATE scans SET farm_id = ${a} WHERE id = ${ids[0]!}`;
    await sql`UPDATE scans SET device_id = ${other} WHERE id = ${ids[1]!}`;
    await sql`UPDATE scans SET farm_id = ${b} WHERE farm_id IS NULL`;
    await sql`UPDATE scans SET capture_id = 'renamed' WHERE id = ${ids[2]!}`;
    await sql`UPDATE scans SET created_at = created_at - interval '1 day' WHERE id = ${ids[0]!}`;
    await sql`UPDATE scans SET created_at = now() + interval '1 hour' WHERE id = ${ids[3]!}`;
    s = await stored(sql);
    assert.deepEqual(s.stored, s.counted);
    assert.equal(s.stored.length, 4);

    await sql`DELETE FROM scans WHERE id = ${ids[2]!}`;
    s = await stored(sql);
    assert.deepEqual(s.stored, s.counted, 'after deleting one scan');
    await sql`DELETE FROM scans WHERE farm_id = ${b}`;
    s = await stored(sql);
    assert.deepEqual(s.stored, s.counted, 'after deleting a farm’s scans: no row left at 0');
    assert.ok(s.stored.every((r) => r.farm_id !== b));
    await sql`TRUNCATE scans CASCADE`;
    assert.deepEqual((await stored(sql)).stored, [], 'TRUNCATE empties it');
  });

  test('two ingests of one device at once are both counted', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { b, device } = await farmsAndDevice(sql, 'dev-1');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        sql.begin(async (tx) => {
          await scan(tx as unknown as Sql, device, b);
          await tx`UPDATE devices SET captures_count = captures_count + 1 WHERE id = ${device}`;
          await tx`SELECT pg_sleep(${i % 2 ? 0.05 : 0})`;
        }),
      ),
    );
    const [row] = await sql`SELECT n FROM device_farm_captures WHERE device_id = ${device}`;
    assert.equal(row!.n, 8);
  });

  test('a device’s only scan on a farm moved away while an ingest to that farm is open: no count lost (review r15 F3)', async (t) => {
    const db = await createTestDatabase({ max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql, 'dev-1');
    const [only] = await scan(sql, device, b, `now() - interval '1 hour'`);
    // Ingest of a newer scan on B, its transaction held open; meanwhile the only older scan on B is
    // moved to A (the scan assignment form), which must wait for it and then count it.
    const ingest = heldOpen(sql, (tx) => scan(tx, device, b));
    await ingest.opened;
    await sql`UPDATE scans SET farm_id = ${a} WHERE id = ${only!.id}`;
    await ingest.done;
    let s = await stored(sql);
    assert.deepEqual(s.stored, s.counted, 'a scan moved out while an ingest to its farm was open');
    // The other order: the move holds the row at 0 while an ingest to B arrives.
    const [again] = await sql`SELECT id FROM scans WHERE farm_id = ${b}`;
    const move = heldOpen(sql, (tx) => tx`UPDATE scans SET farm_id = ${a} WHERE id = ${again!.id}`);
    await move.opened;
    await scan(sql, device, b);
    await move.done;
    s = await stored(sql);
    assert.deepEqual(s.stored, s.counted, 'an ingest while the move held the row');
  });

  test('the newest scan of a farm moved away while an older one is moved in: the newest arrival is the one that stays (review r16 G3)', async (t) => {
    const db = await createTestDatabase({ max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, device } = await farmsAndDevice(sql, 'dev-1');
    const [newest] = await scan(sql, device, b, `now() - interval '1 hour'`);
    const [older] = await scan(sql, device, a, `now() - interval '2 hours'`);
    // The older scan is moved A → B, its transaction held open; meanwhile the newest of B moves to A.
    const moveIn = heldOpen(sql, (tx) => tx`UPDATE scans SET farm_id = ${b} WHERE id = ${older!.id}`);
    await moveIn.opened;
    await sql`UPDATE scans SET farm_id = ${a} WHERE id = ${newest!.id}`;
    await moveIn.done;
    const s = await stored(sql);
    assert.deepEqual(s.stored, s.counted, 'B keeps the older scan as its newest arrival, not none');
  });

  test('a move is stamped when it is made, not when its transaction began (F5)', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, device } = await farmsAndDevice(sql, 'dev-1');
    const began = await sql.begin(async (tx) => {
      const [{ now }] = (await tx`SELECT now()`) as unknown as [{ now: Date }];
      await tx`SELECT pg_sleep(0.2)`;
      await tx`UPDATE devices SET farm_id = ${a} WHERE id = ${device}`;
      return now;
    });
    const [move] = await sql<
      { moved_at: Date }[]
    >`SELECT moved_at FROM device_farm_moves WHERE device_id = ${device}`;
    assert.ok(
      move!.moved_at.getTime() - began.getTime() >= 200,
      `${move!.moved_at.toISOString()} vs ${began.toISOString()}`,
    );
  });

  test('applied to a database with scans: counts back-filled; no move invented for one made before 0023 (F8: scans on two farms do not tell a move from geofence filing)', async (t) => {
    const db = await createTestDatabase({ migrated: false });
    t.after(() => db.drop());
    const before23 = mkdtempSync(join(tmpdir(), 'cti-db-0022-'));
    t.after(() => rmSync(before23, { recursive: true, force: true }));
    cpSync(MIGRATIONS_DIR, before23, {
      recursive: true,
      filter: (src) => !/00(2[3-9]|[3-9]\d)_/.test(src),
    });
    const { sql } = db;
    await migrate({ sql, dir: before23 });
    // dev-1: captures on B, moved to A by the older code (no move recorded), a capture on A.
    const { a, b, device } = await farmsAndDevice(sql, 'dev-1');
    await scan(sql, device, b, `'2026-01-01T10:00:00Z'`);
    await scan(sql, device, b, `'2026-01-02T10:00:00Z'`);
    await sql`UPDATE devices SET farm_id = ${a} WHERE id = ${device}`;
    await scan(sql, device, a, `'2026-01-03T10:00:00Z'`);
    // dev-2: never moved.
    const still = await farmsAndDevice(sql, 'dev-2', 'a');
    await scan(sql, still.device, still.a, `'2026-01-01T10:00:00Z'`);

    await migrate({ sql });
    const s = await stored(sql);
    assert.deepEqual(s.stored, s.counted);
    assert.equal(s.stored.length, 3);
    const moves = await sql`SELECT device_id, from_farm_id, to_farm_id, moved_at FROM device_farm_moves`;
    assert.deepEqual(
      moves.map((m) => [m.device_id, m.from_farm_id, m.to_farm_id, m.moved_at.toISOString()]),
      [],
      'no move of dev-1 made up from its scans on two farms; none for dev-2',
    );
  });
});

describe('migration 0027: scans inserted together are counted once per statement', () => {
  /** One INSERT of `count` scans of `device` on `farm` (null: no farm), created `hoursAgo` + i hours ago. */
  const bulk = (sql: Sql, device: string, farm: string | null, count: number, tag: string, hoursAgo = 0) =>
    sql`INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, created_at)
        SELECT ${tag} || i, ${tag} || i, ${device}, ${farm}, now() - (${hoursAgo} + i) * interval '1 hour'
          FROM generate_series(1, ${count}) i`;

  test('one statement over several pairs, pairs already counted and scans without a farm stays exact', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const one = await farmsAndDevice(sql, 'dev-1');
    const two = await farmsAndDevice(sql, 'dev-2');
    await scan(sql, one.device, one.a, `now() - interval '1000 hours'`); // counted before, older
    await scan(sql, two.device, two.b, `now() + interval '1 hour'`); // counted before, newer than the bulk
    await sql`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, created_at)
      SELECT 'm' || i, 'm' || i, CASE WHEN i % 2 = 0 THEN ${one.device}::uuid ELSE ${two.device}::uuid END,
             CASE i % 3 WHEN 0 THEN ${one.a}::uuid WHEN 1 THEN ${two.b}::uuid END, now() - i * interval '1 minute'
        FROM generate_series(1, 600) i`;
    const s = await stored(sql);
    assert.deepEqual(s.stored, s.counted);
    assert.equal(
      s.stored.reduce((n, r) => n + r.n, 0),
      2 + 400,
    ); // a third of the 600 have no farm
    assert.equal(s.stored.length, 4);
  });

  test('an INSERT … ON CONFLICT DO NOTHING counts only the scans it inserted', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, device } = await farmsAndDevice(sql, 'dev-1');
    await bulk(sql, device, a, 10, 'dup-');
    await sql`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id)
      SELECT 'dup-' || i, 'dup-' || i, ${device}, ${a} FROM generate_series(5, 20) i
      ON CONFLICT DO NOTHING`;
    const s = await stored(sql);
    assert.deepEqual(s.stored, s.counted);
    assert.equal(s.stored[0]?.n, 20);
  });

  test('concurrent bulk inserts over the same pairs, their rows in opposite orders, all count without a deadlock', async (t) => {
    const db = await createTestDatabase({ max: 6 });
    t.after(() => db.drop());
    const { sql } = db;
    const one = await farmsAndDevice(sql, 'dev-1');
    const two = await farmsAndDevice(sql, 'dev-2');
    await Promise.all(
      Array.from({ length: 6 }, (_, k) =>
        sql.begin(async (tx) => {
          // One statement a writer, both pairs in it, rows of dev-1 first or of dev-2 first: counted row
          // by row, the writers took the two counter rows in opposite orders; per statement, in
          // (device, farm) order.
          await tx`
            INSERT INTO scans (capture_id, ingest_key, device_id, farm_id)
            SELECT ${`w${k}-`} || i, ${`w${k}-`} || i,
                   CASE WHEN (i <= 50) = ${k % 2 === 0} THEN ${one.device}::uuid ELSE ${two.device}::uuid END,
                   CASE WHEN (i <= 50) = ${k % 2 === 0} THEN ${one.a}::uuid ELSE ${two.a}::uuid END
              FROM generate_series(1, 100) i ORDER BY i`;
          await tx`SELECT pg_sleep(0.05)`;
        }),
      ),
    );
    const s = await stored(sql);
    assert.deepEqual(s.stored, s.counted);
    assert.deepEqual(
      s.stored.map((r) => r.n),
      [300, 300],
    );
  });
});
