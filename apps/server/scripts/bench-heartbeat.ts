// Statements and time per accepted heartbeat (POST /devices/heartbeat through app.request() on a fresh
// migrated database): how many round trips the route costs the database, counted by postgres.js's
// `debug` hook, and the median and p95 latency. A figure printer, not a test.
//
//   CTI_TEST_DATABASE_URL=postgres://… node --import ./apps/server/scripts/register-jsx.ts \
//     apps/server/scripts/bench-heartbeat.ts [heartbeats=200]
import { createTestDatabase } from '@cti/db/testing';
import postgres from 'postgres';
import { addDeviceKey } from '../src/devices/device-keys.ts';
import { heartbeatBody, signedHeartbeat } from '../src/devices/test-heartbeats.ts';
import { createTestApp } from '../src/test-helpers.ts';

const n = Number(process.argv[2] ?? 200);
const db = await createTestDatabase({ asyncCommit: false });
let statements = 0;
const sql = postgres(db.url, { max: 4, onnotice: () => {}, debug: () => void statements++ });
const app = createTestApp(sql);
try {
  const { secret } = await addDeviceKey(db.sql, 'dev-bench', { label: null });
  const perHeartbeat: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = Date.now();
    const init = signedHeartbeat(secret, heartbeatBody('dev-bench', new Date(at)), {
      timestamp: Math.floor(at / 1000),
    });
    const before = statements;
    const started = performance.now();
    const res = await app.app.request('/devices/heartbeat', init);
    if (res.status !== 200) throw new Error(`heartbeat ${i}: ${res.status} ${await res.text()}`);
    ms.push(performance.now() - started);
    perHeartbeat.push(statements - before);
    // One device at the default bound of 120 a minute: the window holds at most that many.
    if ((i + 1) % 100 === 0)
      await db.sql`UPDATE device_heartbeats SET received_at = received_at - interval '1 minute'`;
  }
  const sorted = ms.sort((a, b) => a - b);
  // The first statements of a new connection also fetch its array types (postgres.js): the mode counts.
  const tally = new Map<number, number>();
  for (const c of perHeartbeat) tally.set(c, (tally.get(c) ?? 0) + 1);
  console.log(
    JSON.stringify({
      heartbeats: n,
      statements_per_heartbeat: Object.fromEntries(tally),
      median_ms: Number(sorted[Math.floor(n / 2)]!.toFixed(2)),
      p95_ms: Number(sorted[Math.floor(n * 0.95)]!.toFixed(2)),
    }),
  );
} finally {
  await app.close();
  await sql.end({ timeout: 1 });
  await db.drop();
}
