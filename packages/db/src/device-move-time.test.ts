import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Sql } from 'postgres';
import { MIGRATIONS_DIR, migrate } from './index.ts';
import { createTestDatabase } from './testing.ts';

// Migration 0025 (review r15, design note) on real Postgres: a move of a device between farms takes the
// time the caller gives in `cti.device_moved_at` (transaction-local), else the clock's; a time in the
// future or not after the device's previous move is refused and nothing is written.

type Move = { from_farm_id: string | null; to_farm_id: string | null; moved_at: Date; recorded_at: Date };

async function world(sql: Sql) {
  const [a] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('A') RETURNING id`;
  const [b] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('B') RETURNING id`;
  const [c] = await sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('C') RETURNING id`;
  const [d] = await sql<{ id: string }[]>`
    INSERT INTO devices (device_code, farm_id) VALUES ('dev-1', ${a!.id}) RETURNING id`;
  return { a: a!.id, b: b!.id, c: c!.id, device: d!.id };
}

const moves = (sql: Sql, device: string) =>
  sql<Move[]>`SELECT from_farm_id, to_farm_id, moved_at, recorded_at FROM device_farm_moves
               WHERE device_id = ${device} ORDER BY id`;

/** Moves `device` to `farm` with `cti.device_moved_at` = `at` (none when undefined). */
const move = (sql: Sql, device: string, farm: string | null, at?: string) =>
  sql.begin(async (tx) => {
    if (at !== undefined) await tx`SELECT set_config('cti.device_moved_at', ${at}, true)`;
    await tx`UPDATE devices SET farm_id = ${farm} WHERE id = ${device}`;
  });

const refused = async (work: Promise<unknown>, code: string, words: RegExp) => {
  await assert.rejects(work, (err: { code?: string; message?: string }) => {
    assert.equal(err.code, code, err.message);
    assert.match(err.message ?? '', words);
    return true;
  });
};

const HOUR = 3_600_000;
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

describe('migration 0025: a move recorded at the time it happened', () => {
  test('the time given in cti.device_moved_at, recorded_at when it was written; without one the clock’s, as before', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, c, device } = await world(sql);
    const twoDaysAgo = iso(48 * HOUR);
    await move(sql, device, b, twoDaysAgo);
    await move(sql, device, c);
    const [back, now] = await moves(sql, device);
    assert.deepEqual([back!.from_farm_id, back!.to_farm_id], [a, b]);
    assert.equal(back!.moved_at.toISOString(), twoDaysAgo);
    assert.ok(Date.now() - back!.recorded_at.getTime() < 60_000, 'recorded now: visibly backdated');
    assert.deepEqual([now!.from_farm_id, now!.to_farm_id], [b, c]);
    assert.equal(
      now!.moved_at.getTime(),
      now!.recorded_at.getTime(),
      'the setting ended with its transaction',
    );
    assert.ok(Date.now() - now!.moved_at.getTime() < 60_000);
  });

  test('refused, nothing written: in the future, not after the previous move (equal too), not a time', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { a, b, c, device } = await world(sql);
    await refused(move(sql, device, b, iso(-10 * 60_000)), 'CTIM2', /is in the future/);
    await move(sql, device, b, iso(5 * HOUR));
    const [first] = await moves(sql, device);
    await refused(move(sql, device, c, iso(6 * HOUR)), 'CTIM3', /not after the device's previous move/);
    await refused(
      move(sql, device, c, first!.moved_at.toISOString()),
      'CTIM3',
      /not after the device's previous move/,
    );
    await refused(move(sql, device, c, 'last tuesday'), 'CTIM1', /'last tuesday' is not a time/);
    const [device_] = await sql`SELECT farm_id FROM devices WHERE id = ${device}`;
    assert.equal(device_!.farm_id, b, 'the device stays where the last accepted move put it');
    assert.equal((await moves(sql, device)).length, 1);
    // A skew of a few seconds ahead is accepted (replicas' clocks), and then is the previous move.
    await move(sql, device, c, iso(-5_000));
    await move(sql, device, a, iso(-20_000));
    assert.deepEqual(
      (await moves(sql, device)).map((m) => m.to_farm_id),
      [b, c, a],
    );
  });

  test('two moves of one device at once: the second waits for the first and is checked against it (no out-of-order rows)', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const { b, c, device } = await world(sql);
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const first = sql.begin(async (tx) => {
      await tx`SELECT set_config('cti.device_moved_at', ${iso(2 * HOUR)}, true)`;
      await tx`UPDATE devices SET farm_id = ${b} WHERE id = ${device}`;
      open();
      await tx`SELECT pg_sleep(0.5)`;
    });
    await opened;
    // Earlier than the first, made while the first is open: it must see the first once it commits.
    const second = move(sql, device, c, iso(3 * HOUR));
    // Its refusal is awaited from now on: it may arrive before `first` is seen to commit.
    const secondRefused = refused(second, 'CTIM3', /not after the device's previous move/);
    await first;
    await secondRefused;
    assert.deepEqual(
      (await moves(sql, device)).map((m) => m.to_farm_id),
      [b],
    );
  });

  test('applied to a database with moves: each keeps its time, recorded_at = moved_at', async (t) => {
    const db = await createTestDatabase({ migrated: false });
    t.after(() => db.drop());
    const before25 = mkdtempSync(join(tmpdir(), 'cti-db-0024-'));
    t.after(() => rmSync(before25, { recursive: true, force: true }));
    cpSync(MIGRATIONS_DIR, before25, { recursive: true, filter: (src) => !/00(2[5-9]|[3-9]\d)_/.test(src) });
    const { sql } = db;
    await migrate({ sql, dir: before25 });
    const { b, device } = await world(sql);
    await sql`UPDATE devices SET farm_id = ${b} WHERE id = ${device}`;
    await sql`UPDATE device_farm_moves SET moved_at = '2026-11-01T10:00:00Z'`;
    await migrate({ sql });
    const [row] = await moves(sql, device);
    assert.equal(row!.moved_at.toISOString(), '2026-11-01T10:00:00.000Z');
    assert.equal(row!.recorded_at.toISOString(), '2026-11-01T10:00:00.000Z');
  });
});
