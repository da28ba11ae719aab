// What migration 0028's statement triggers (scan_status_counts) cost a statement on `scans` — prints
// figures, asserts nothing. On a throw-away test database (CTI_TEST_DATABASE_URL), BENCH_N (5000)
// one-row INSERTs (an ingest's scan) and BENCH_N one-row status UPDATEs (a grading), each in a PL/pgSQL
// loop timed by the server's clock (no round trips in the figure), with 0028's insert and update
// triggers disabled then enabled, BENCH_ROUNDS (4) times; the other triggers on scans stay on.
//   node apps/server/scripts/bench-count-triggers.ts
import { createTestDatabase } from '@cti/db/testing';

const N = Number(process.env.BENCH_N ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const db = await createTestDatabase({ max: 1 });
const { sql } = db;

/** Runs `body` (PL/pgSQL statements) N times in one DO block; µs per iteration. */
async function loop(declare: string, body: string): Promise<number> {
  await sql.unsafe(`
    DO $$ DECLARE t0 timestamptz := clock_timestamp(); ${declare} BEGIN
      FOR i IN 1..${N} LOOP ${body} END LOOP;
      PERFORM set_config('bench.us', (extract(epoch FROM clock_timestamp() - t0) * 1e6 / ${N})::text, false);
    END $$`);
  const [row] = await sql<{ us: number }[]>`SELECT current_setting('bench.us')::float8 AS us`;
  return row!.us;
}

let batch = 0;
const inserts = () => {
  const tag = `b${++batch}-`;
  return loop(
    'devs uuid[] := ARRAY(SELECT id FROM devices ORDER BY id);',
    `INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, status)
     VALUES ('${tag}' || i, '${tag}' || i, devs[1 + i % 16], (SELECT farm_id FROM devices WHERE id = devs[1 + i % 16]), 'ingested');`,
  );
};
const updates = () =>
  loop(
    `ids uuid[] := ARRAY(SELECT id FROM scans ORDER BY id LIMIT ${N});`,
    `UPDATE scans SET status = CASE status WHEN 'graded' THEN 'ingested'::scan_status ELSE 'graded' END WHERE id = ids[i];`,
  );
const triggers = (on: boolean) =>
  sql.unsafe(`ALTER TABLE scans ${on ? 'ENABLE' : 'DISABLE'} TRIGGER scans_count_status_insert;
              ALTER TABLE scans ${on ? 'ENABLE' : 'DISABLE'} TRIGGER scans_count_status_update`);

try {
  await sql`INSERT INTO farms (name) SELECT 'Farm ' || i FROM generate_series(1, 4) i`;
  await sql`INSERT INTO devices (device_code, farm_id)
            SELECT 'dev-' || i, (SELECT id FROM farms ORDER BY id OFFSET i % 4 LIMIT 1) FROM generate_series(1, 16) i`;
  await inserts(); // warm-up: plans, the table's first pages
  console.log(`count triggers: ${N} one-row statements per figure, µs per statement (server clock)`);
  const figures = {
    off: { insert: [] as number[], update: [] as number[] },
    on: { insert: [] as number[], update: [] as number[] },
  };
  for (let round = 1; round <= ROUNDS; round++) {
    const row: string[] = [];
    // Off first in odd rounds, on first in even ones: the table grows as it goes.
    for (const on of round % 2 ? [false, true] : [true, false]) {
      await triggers(on);
      const f = figures[on ? 'on' : 'off'];
      f.insert.push(await inserts());
      f.update.push(await updates());
      row.push(
        `${on ? 'on ' : 'off'}: insert ${f.insert.at(-1)!.toFixed(0)}, status update ${f.update.at(-1)!.toFixed(0)}`,
      );
    }
    await sql`SELECT compact_scan_status_counts()`;
    console.log(`round ${round}  ${row.join('  |  ')}`);
  }
  // The paired difference of each round is steadier than either figure on a loaded machine.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const kind of ['insert', 'update'] as const) {
    const extra = figures.on[kind].map((on, r) => on - figures.off[kind][r]!);
    console.log(
      `${kind}: median off ${median(figures.off[kind]).toFixed(0)} µs, on ${median(figures.on[kind]).toFixed(0)} µs; ` +
        `the triggers' share, median of the rounds' differences: ${median(extra).toFixed(0)} µs`,
    );
  }
} finally {
  await db.drop();
}
