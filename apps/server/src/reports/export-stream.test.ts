import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parse } from 'csv-parse/sync';
import { loadExportConfig } from '../config.ts';
import { apiClient } from '../test-api-client.ts';
import { listenTestApp, useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { cursorStream } from './cursor-stream.ts';

// Exports stream from a database cursor: many rows arrive batch by batch, a client that goes away (or a
// HEAD request) never keeps a pool connection, and a database failure after the first byte breaks the
// transfer instead of ending a file that looks complete. (Memory staying flat is measured by
// `pnpm bench:api`, not asserted here; what keeps it flat — no batch of rows alive at once — is.)

const ROWS = 50_000;
let farm: string;
let cookie: string;
// One user holds every download here: the per-user cap (export-slots.test.ts) is lifted so the
// server-wide one is what a sixth download meets.
const ctx = useTestApp(
  { exports: { ...loadExportConfig({}), perUser: 100 } },
  {
    async seed({ db, server }) {
      const sql = db.sql;
      farm = await seedFarm(sql, 'Big Farm');
      const device = await seedDevice(sql, 'dev-big', farm);
      await sql`
        INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, gps, captured_at, status)
        SELECT 'dev-big.cap_' || i, 'cap_' || i, 's3://b/raw/dev-big/2025/01/01/cap_' || i || '/', ${device}, ${farm},
               ST_SetSRID(ST_MakePoint(-79.38 + i * 1e-7, 43.65), 4326), timestamptz '2025-01-01' + i * interval '1 minute',
               (CASE WHEN i % 2 = 0 THEN 'graded' ELSE 'ingested' END)::scan_status
          FROM generate_series(1, ${ROWS}) i`;
      await sql`
        INSERT INTO grading_results (scan_id, model_name, model_version, features_used, grade)
        SELECT id, 'ribeye-seg', '2.3.0', jsonb_build_object('rea_cm2', 60 + (random() * 40)::int, 'fat_thickness_mm', null), 'A'
          FROM scans WHERE status = 'graded'`;
      await sql`ANALYZE scans`;
      await seedUser(sql, 'admin@example.com', ['admin']);
      const client = apiClient(server.app);
      assert.equal((await client.signIn('admin@example.com', TEST_PASSWORD)).status, 200);
      cookie = client.cookie!;
    },
  },
);
let http: Awaited<ReturnType<typeof listenTestApp>> | undefined;
after(() => http?.close());
const url = async (path: string) => {
  http ??= await listenTestApp(ctx.server);
  return `${http.url}${path}`;
};

/** Backends of the test database inside an export's transaction (declaring or fetching its cursor). */
async function exportBackends(): Promise<number[]> {
  const rows = await ctx.db.sql<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%FROM cti_stream%'
       AND state <> 'idle'`;
  return rows.map((r) => r.pid);
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('streamed exports', () => {
  test(`${ROWS} rows arrive batch by batch (1,000 rows a chunk) and parse back whole`, async () => {
    const res = await ctx.server.app.request(`/api/v1/exports/scans.csv?farm_id=${farm}`, {
      headers: { cookie },
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    // One chunk per cursor batch (the header rides with the first), then the (empty) end.
    assert.equal(chunks.length, ROWS / 1000 + 1);
    // Decoded only now: a chunk handed out stays as it was while later batches are formatted.
    const text = new TextDecoder().decode(Buffer.concat(chunks));
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, ROWS);
    assert.equal(new Set(rows.map((r) => r.scan_id)).size, ROWS);
    assert.equal(rows.filter((r) => r.rea_cm2 === '').length, ROWS / 2, 'ungraded scans have no REA, not 0');
  });

  test('a client that goes away mid-file closes the cursor and frees its connection', async () => {
    // More aborted downloads than the pool has connections (5): a leak would hang the last request.
    for (let i = 0; i < 7; i++) {
      const abort = new AbortController();
      const res = await fetch(await url(`/api/v1/exports/scans.csv?farm_id=${farm}`), {
        headers: { cookie },
        signal: abort.signal,
      });
      assert.equal(res.status, 200);
      await res.body!.getReader().read();
      if (i === 0) assert.equal((await exportBackends()).length, 1, 'the export holds its cursor meanwhile');
      abort.abort();
      // The server notices the abort asynchronously; until it has, the export still counts against the
      // exports cap and a next one could be refused 503 on a loaded machine. A leaked cursor never ends.
      await waitFor(`aborted export ${i + 1} to end`, async () => (await exportBackends()).length === 0);
    }
    const res = await fetch(await url('/api/v1/exports/scans.geojson?capture_id=cap_7'), {
      headers: { cookie },
    });
    assert.equal(((await res.json()) as { features: unknown[] }).features.length, 1);
  });

  test('downloads that stall never take every pool connection: beyond the cap an export is 503, the rest of the API answers', async () => {
    // A client that stops reading keeps its cursor (and pool connection) open as long as it likes. Five
    // such downloads used to hold the whole test pool (5): every other request then waited forever.
    const held: AbortController[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const abort = new AbortController();
      held.push(abort);
      const res = await fetch(await url(`/api/v1/exports/scans.csv?farm_id=${farm}`), {
        headers: { cookie },
        signal: abort.signal,
      });
      statuses.push(res.status);
      if (res.status === 200)
        await res.body!.getReader().read(); // then stop reading
      else {
        assert.equal(res.status, 503);
        assert.equal(((await res.json()) as { error: string }).error, 'exports_busy');
        assert.ok(res.headers.get('retry-after'));
      }
    }
    assert.ok(statuses.includes(503), `some exports wait their turn: ${statuses}`);
    const other = await fetch(await url('/api/v1/notifications/unread-count'), { headers: { cookie } });
    assert.equal(other.status, 200, 'the rest of the API still has connections');
    for (const a of held) a.abort();
    await waitFor('the held exports to end', async () => (await exportBackends()).length === 0);
    const again = await fetch(await url('/api/v1/exports/scans.geojson?capture_id=cap_7'), {
      headers: { cookie },
    });
    assert.equal(again.status, 200, 'a slot is free again once the downloads ended');
    await again.text();
  });

  test('HEAD answers the headers and opens no cursor', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await fetch(await url(`/api/v1/exports/scans.csv?farm_id=${farm}`), {
        method: 'HEAD',
        headers: { cookie },
      });
      assert.equal(res.status, 200);
      assert.match(
        res.headers.get('content-disposition') ?? '',
        /^attachment; filename="cti-scans-big-farm-/,
      );
    }
    assert.deepEqual(await exportBackends(), []);
    const res = await fetch(await url('/api/v1/exports/scans.csv?capture_id=cap_9'), { headers: { cookie } });
    assert.equal((parse(await res.text(), { columns: true }) as unknown[]).length, 1);
  });

  test('the database failing after the first byte breaks the transfer (no complete-looking file)', async () => {
    const res = await fetch(await url(`/api/v1/exports/scans.csv?farm_id=${farm}`), { headers: { cookie } });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(first.value && first.value.length > 0);
    // The client has not read the rest ({ROWS} rows ≈ 20 MB, more than the socket buffers hold), so
    // the server is still inside the cursor: kill its backend.
    await waitFor('the export backend', async () => (await exportBackends()).length === 1);
    const [pid] = await exportBackends();
    await ctx.db.sql`SELECT pg_terminate_backend(${pid!})`;
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) break;
    }, 'the body must fail, not end');
  });
});

describe('cursorStream against Postgres', () => {
  test('a failure in the first batch rejects before any Response exists, and frees the connection', async () => {
    for (let i = 0; i < 7; i++) {
      await assert.rejects(
        cursorStream(
          ctx.db.sql,
          (db) => db<{ x: number }[]>`SELECT 1 / (x - x) AS x FROM (VALUES (1)) v(x)`,
          {
            line: (r: { x: number }) => `${r.x}\n`,
          },
        ),
        (err: { code?: string }) => err.code === '22012',
      );
    }
    assert.deepEqual(await exportBackends(), []);
  });

  test('a failure in a later batch errors the stream after the rows before it', async () => {
    const errors: unknown[] = [];
    const stream = await cursorStream(
      ctx.db.sql,
      (db) =>
        db<
          { x: number }[]
        >`SELECT CASE WHEN g < 2500 THEN g ELSE 1 / (g - g) END AS x FROM generate_series(1, 5000) g`,
      {
        batchSize: 1000,
        head: 'x\n',
        line: (r: { x: number }) => `${r.x}\n`,
        onError: (e: unknown) => errors.push(e),
      },
    );
    const reader = stream.getReader();
    let lines = 0;
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        lines += new TextDecoder().decode(value).split('\n').length - 1;
      }
    });
    assert.equal(lines, 1 + 2000, 'the header and two whole batches, then the error');
    assert.equal((errors[0] as { code?: string }).code, '22012');
    // The stream errors as soon as the FETCH fails; the ROLLBACK it triggers completes a moment later
    // (checked at once, this failed 1 run in 3 here): the transaction must end, not linger.
    await waitFor(
      'the failed export to end its transaction',
      async () => (await exportBackends()).length === 0,
    );
  });

  test('a row its line cannot be made of fails like the database would: before the first byte a rejection, later a broken stream', async () => {
    const query = (db: Parameters<Parameters<typeof cursorStream>[1]>[0]) =>
      db<{ g: number }[]>`SELECT g FROM generate_series(1, 3000) g`;
    const line = (bad: number) => (r: { g: number }) => {
      if (r.g === bad) throw new Error(`row ${bad} cannot be written`);
      return `${r.g}\n`;
    };
    await assert.rejects(
      cursorStream(ctx.db.sql, query, { batchSize: 1000, line: line(5) }),
      /row 5 cannot be written/,
    );
    const errors: unknown[] = [];
    const stream = await cursorStream(ctx.db.sql, query, {
      batchSize: 1000,
      line: line(1500),
      onError: (e) => errors.push(e),
    });
    const reader = stream.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value).split('\n').length - 1, 1000);
    await assert.rejects(reader.read(), /row 1500 cannot be written/);
    assert.match(String(errors[0]), /row 1500/);
    await waitFor(
      'the failed streams to end their transactions',
      async () => (await exportBackends()).length === 0,
    );
  });

  test("a batch's rows are never alive together: each becomes text as soon as it is parsed", async () => {
    // Holding a FETCH's 1,000 rows (postgres.js's result array) while they were parsed made V8 promote
    // most of every young collection: a fresh server's first 100,000-row export grew by ~190 MB.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = getHeapStatistics().used_heap_size;
    let atLastRow = 0;
    const stream = await cursorStream(
      ctx.db.sql,
      (db) =>
        db<
          { g: number; pad: string }[]
        >`SELECT g, repeat(md5(g::text), 64) AS pad FROM generate_series(1, 3000) g`,
      {
        batchSize: 2000,
        line: (r: { g: number; pad: string }, i: number) => {
          if (i === 1999) {
            gc();
            atLastRow = getHeapStatistics().used_heap_size;
          }
          return `${r.g},${r.pad.length}\n`;
        },
      },
    );
    const text = await new Response(stream).text();
    assert.equal(text.split('\n').length - 1, 3000);
    // 2,000 rows of a 2 KB string each: ≥ 4 MB of heap if the batch were held until its last row.
    const grown = atLastRow - before;
    assert.ok(grown < 1024 * 1024, `the heap grew by ${(grown / 2 ** 20).toFixed(1)} MB over one batch`);
  });

  test('the declared cursor is planned for its first rows: the list index in order, no sort', async () => {
    const plan = await ctx.db.sql.begin(
      (tx) => tx`EXPLAIN DECLARE c NO SCROLL CURSOR FOR SELECT id FROM scans s
                  ORDER BY coalesce(s.captured_at, s.created_at, '-infinity'::timestamptz) DESC, s.id DESC`,
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(text, /Index Scan using idx_scans_sort/);
    assert.doesNotMatch(text, /Sort/);
  });
});
