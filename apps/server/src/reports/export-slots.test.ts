import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Sql } from 'postgres';
import type { ExportConfig } from '../config.ts';
import { createDatabaseClient } from '../db/database-client.ts';
import { apiClient } from '../test-api-client.ts';
import { createTestApp, listenTestApp, type TestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// The export cap counts downloads in progress, over real sockets, with a pool of 2 (one export slot):
// a download is over when its last byte is handed over or its client is gone — not when its
// transaction's COMMIT comes back a moment later — so a script (or a user) fetching one file after
// another is never refused, while two at the same time still are. A client that stops reading is cut
// after the stall timeout, a slow one after the maximum duration, and one user holds at most
// `perUser` downloads (review r1 F8: one account held every slot by not reading).

const ROWS = 60_000; // more than socket buffers hold: a download that is not read stays in progress
/** The last 500 scans: one short file (one batch). */
const RECENT = `from=${new Date(Date.parse('2025-01-01T00:00:00Z') + (ROWS - 500) * 60_000).toISOString()}`;
let db: TestDatabase;
/** Session cookies of two admins (both see every scan). */
const cookies: Record<'a' | 'b', string> = { a: '', b: '' };

before(async () => {
  db = await createTestDatabase();
  const farm = await seedFarm(db.sql, 'Slot Farm');
  const device = await seedDevice(db.sql, 'dev-slot', farm);
  await db.sql`
    INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, captured_at, status)
    SELECT 'dev-slot.cap_' || i, 'cap_' || i, 's3://b/raw/dev-slot/2025/01/01/cap_' || i || '/', ${device}, ${farm},
           timestamptz '2025-01-01' + i * interval '1 minute', 'ingested'
      FROM generate_series(1, ${ROWS}) i`;
  const signing = createTestApp(db.sql);
  for (const who of ['a', 'b'] as const) {
    await seedUser(db.sql, `${who}@example.com`, ['admin']);
    const client = apiClient(signing.app);
    assert.equal((await client.signIn(`${who}@example.com`, TEST_PASSWORD)).status, 200);
    cookies[who] = client.cookie!;
  }
  await signing.close();
});
after(() => db?.drop());

/**
 * A server on its own pool of `max` connections (max ÷ 2 export slots) with these export limits;
 * `get(file, who)` fetches an export as admin a or b.
 */
function useServer(max: number, exports: Partial<ExportConfig> = {}) {
  let pool: Sql;
  let app: TestApp;
  let server: Awaited<ReturnType<typeof listenTestApp>>;
  before(async () => {
    pool = createDatabaseClient({ url: db.url, max, connectTimeoutSeconds: 5 });
    app = createTestApp(pool, {
      exports: { stallTimeoutSeconds: 60, maxDurationSeconds: 3600, perUser: 2, ...exports },
    });
    server = await listenTestApp(app);
  });
  after(async () => {
    await server?.close();
    await app?.close();
    await pool?.end({ timeout: 5 });
  });
  return {
    get: (file: string, who: 'a' | 'b' = 'a') =>
      fetch(`${server.url}/api/v1/exports/${file}`, { headers: { cookie: cookies[who] } }),
    port: () => server.port,
  };
}

/**
 * A raw HTTP client that reads the status line of an export and then stops reading (its socket
 * paused: the kernel's buffers fill and the server can write no more), like review r1's stall.py.
 */
async function stalledDownload(port: number, file: string, who: 'a' | 'b') {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.write(`GET /api/v1/exports/${file} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookies[who]}\r\n\r\n`);
  const first = await new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('error', reject);
  });
  socket.pause();
  return {
    status: first.toString('latin1').split('\r\n')[0],
    /** Reads everything still coming until the server closes the connection. */
    async rest(): Promise<string> {
      const chunks: Buffer[] = [first];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', () => {}); // a reset is one way of being cut
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.resume();
      await closed;
      return Buffer.concat(chunks).toString('latin1');
    },
    close: () => socket.destroy(),
  };
}

/** Cursor transactions open on the test database (an export in progress, or one not ended). */
async function openCursors(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND query LIKE '%cti_stream%' AND state <> 'idle'
       AND pid <> pg_backend_pid()`;
  return row!.n;
}

/** Polls `check` every 50 ms until it is true; false after `ms`. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await check()) return true;
  return check();
}

describe('export slots (pool of 2: one download at a time)', () => {
  const { get } = useServer(2);
  test('files fetched one after another, each read to the end, are all 200', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await get(`${i % 2 ? 'scans.geojson' : 'scans.csv'}?${RECENT}`);
      await res.arrayBuffer();
      answers.push(res.status);
    }
    assert.deepEqual(
      answers.filter((s) => s !== 200),
      [],
      answers.join(' '),
    );
  });

  test('a client that goes away after the first chunk frees its slot at once', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await get('scans.csv');
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      assert.ok((await reader.read()).value);
      await reader.cancel();
      const next = await get(`scans.geojson?${RECENT}`);
      await next.arrayBuffer();
      assert.equal(next.status, 200, `after cancelled download ${i + 1}`);
    }
  });

  test('while one download is being read, a second is still 503 exports_busy', async () => {
    const first = await get('scans.csv');
    assert.equal(first.status, 200);
    const reader = first.body!.getReader();
    assert.ok((await reader.read()).value);
    const second = await get('scans.geojson');
    assert.equal(second.status, 503);
    assert.equal(((await second.json()) as { error: string }).error, 'exports_busy');
    while (!(await reader.read()).done);
    const third = await get(`scans.geojson?${RECENT}`);
    await third.arrayBuffer();
    assert.equal(third.status, 200);
  });
});

// 5 s: room for the 503 check below on a loaded 2-core CI machine (the stall must not be cut first).
describe('a client that stops reading (pool of 2, stall timeout 5 s)', () => {
  const { get, port } = useServer(2, { stallTimeoutSeconds: 5 });

  test("is cut after the timeout: its transaction ends and another user's export answers 200", async () => {
    const stalled = await stalledDownload(port(), 'scans.geojson', 'a');
    const started = Date.now();
    try {
      assert.equal(stalled.status, 'HTTP/1.1 200 OK');
      await sleep(500);
      const busy = await get(`scans.geojson?${RECENT}`, 'b');
      assert.equal(busy.status, 503, 'the stalled download holds the only slot');
      assert.equal(((await busy.json()) as { error: string }).error, 'exports_busy');
      assert.equal(await openCursors(), 1);
      let answer = 0;
      const freed = await eventually(async () => {
        const res = await get(`scans.geojson?${RECENT}`, 'b');
        await res.arrayBuffer();
        answer = res.status;
        return answer === 200;
      }, 15_000);
      assert.ok(freed, `user b still answered ${answer} 15 s after user a stopped reading`);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 4900, `cut after ${elapsed} ms, before the timeout`);
      // The server closed the connection mid-file: no last chunk, so no client takes it for a whole file.
      const text = await stalled.rest();
      assert.ok(!text.endsWith('0\r\n\r\n'), 'the cut download ended like a complete one');
      assert.ok(
        await eventually(async () => (await openCursors()) === 0, 5_000),
        'the cursor transaction is still open',
      );
    } finally {
      stalled.close();
    }
  });

  test('a client that reads steadily, pausing less than the timeout, gets the whole file', async () => {
    const res = await get('scans.csv', 'a');
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let bytes = 0;
    const started = Date.now();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      await sleep(5);
    }
    assert.ok(bytes > 0);
    const text = await (await get('scans.csv', 'a')).text();
    assert.equal(bytes, Buffer.byteLength(text), `read ${bytes} bytes in ${Date.now() - started} ms`);
  });
});

describe('a download that goes on too long (pool of 2, at most 1.5 s)', () => {
  const { get } = useServer(2, { stallTimeoutSeconds: 2, maxDurationSeconds: 1.5 });

  test('is cut at the maximum duration, read or not, and the slot is free again', async () => {
    const res = await get('scans.csv', 'a');
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const started = Date.now();
    await assert.rejects(async () => {
      // Never paused as long as the stall timeout, far too slow to finish in 1.5 s.
      while (!(await reader.read()).done) await sleep(50);
    }, 'the slow download was not cut');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400, `cut after ${elapsed} ms, before the maximum duration`);
    const next = await get(`scans.geojson?${RECENT}`, 'b');
    await next.arrayBuffer();
    assert.equal(next.status, 200);
    assert.ok(
      await eventually(async () => (await openCursors()) === 0, 5_000),
      'the cursor transaction is still open',
    );
  });
});

describe('downloads per user (pool of 6: three slots, two per user)', () => {
  const { get, port } = useServer(6, { perUser: 2 });

  test("a user's third download at once is 429 too_many_exports while another user's is 200", async () => {
    const held = [
      await stalledDownload(port(), 'scans.csv', 'a'),
      await stalledDownload(port(), 'scans.geojson', 'a'),
    ];
    try {
      for (const download of held) assert.equal(download.status, 'HTTP/1.1 200 OK');
      const third = await get(`scans.csv?${RECENT}`, 'a');
      assert.equal(third.status, 429);
      assert.ok(Number(third.headers.get('retry-after')) > 0);
      const body = (await third.json()) as { error: string; message: string };
      assert.equal(body.error, 'too_many_exports');
      assert.match(body.message, /already have 2 exports downloading/);
      const other = await get(`scans.csv?${RECENT}`, 'b');
      await other.arrayBuffer();
      assert.equal(other.status, 200, "another user's export");
      // One of a's downloads ends (the client goes away): a's next is answered again.
      held[0]!.close();
      assert.ok(
        await eventually(async () => {
          const again = await get(`scans.csv?${RECENT}`, 'a');
          await again.arrayBuffer();
          return again.status === 200;
        }, 5_000),
        "a's export after one of its downloads ended",
      );
    } finally {
      for (const download of held) download.close();
    }
  });
});
