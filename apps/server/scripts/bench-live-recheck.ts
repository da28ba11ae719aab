// The live scans list's periodic re-check (src/web/live/scan-live-hub.ts): what one tick costs with
// `STREAMS` open streams (200 by default) — the tick's two queries, sessions.checkMany over every open
// session and readableFarmIds over their users — on a fresh test database with 10,000 other sessions,
// 500 farms and ~1,000 farm links around them. Prints figures, asserts nothing.
// Run: CTI_TEST_DATABASE_URL=… node --import ./scripts/register-jsx.ts scripts/bench-live-recheck.ts
import { performance } from 'node:perf_hooks';
import { createTestDatabase } from '@cti/db/testing';
import { readableFarmIds } from '../src/access/farm-access.ts';
import { createSessionStore } from '../src/auth/session-store.ts';
import { testAuthConfig } from '../src/test-helpers.ts';
import { seedFarm, seedUser } from '../src/test-seed.ts';

const STREAMS = Number(process.env.STREAMS ?? 200);
const TICKS = 300;

const db = await createTestDatabase({ asyncCommit: false });
try {
  const sql = db.sql;
  const sessions = createSessionStore({ sql, config: testAuthConfig() });
  const farms: string[] = [];
  for (let i = 0; i < 500; i++) farms.push(await seedFarm(sql, `F${i}`, { lon: -80 + i / 100, lat: 43 }));
  const hashes: Buffer[] = [];
  for (let i = 0; i < STREAMS; i++) {
    // Mostly farmers on two farms, some technicians on three, a few admins.
    const roles =
      i % 20 === 0 ? (['admin'] as const) : i % 4 === 0 ? (['technician'] as const) : (['farmer'] as const);
    const own = roles[0] === 'admin' ? [] : [0, 1, 2].slice(0, roles[0] === 'technician' ? 3 : 2);
    const user = await seedUser(sql, `v${i}@example.com`, [...roles], {
      farms: own.map((k) => ({ id: farms[(i * 3 + k) % farms.length]! })),
    });
    const { token } = await sessions.create(user.id, { address: '127.0.0.1', userAgent: 'bench' });
    hashes.push((await sessions.find(token))!.sessionHash);
  }
  const [other] = await sql<{ id: string }[]>`SELECT id FROM users LIMIT 1`;
  await sql`INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
            SELECT sha256(i::text::bytea), ${other!.id}, 'x', now() + interval '1 day'
              FROM generate_series(1, 10000) i`;
  await sql`ANALYZE`;

  const tick = async () => {
    const live = await sessions.checkMany(hashes);
    await readableFarmIds(sql, [...live.values()]);
    return live.size;
  };
  for (let i = 0; i < 20; i++) await tick(); // warm up
  const ms: number[] = [];
  let alive = 0;
  for (let i = 0; i < TICKS; i++) {
    const t = performance.now();
    alive = await tick();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
  console.log(`open streams ${STREAMS} (live sessions ${alive}), ${TICKS} ticks`);
  console.log(`one tick (2 queries): median ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`);
  const plan = await sql.unsafe(
    `EXPLAIN (ANALYZE, FORMAT TEXT) SELECT 1 FROM sessions s
      WHERE s.token_hash IN (SELECT decode(h, 'hex') FROM unnest($1::text[]) h)`,
    [hashes.map((h) => h.toString('hex'))],
  );
  const users = (await sessions.checkMany(hashes)).values();
  const farmPlan = await sql.unsafe(
    `EXPLAIN (ANALYZE, FORMAT TEXT) SELECT u.id, f.id FROM unnest($1::uuid[]) AS u(id)
      CROSS JOIN LATERAL (SELECT f.id FROM farms f
        WHERE f.id IN (SELECT DISTINCT uf.farm_id FROM user_farms uf WHERE uf.user_id = u.id
          AND uf.role IN (SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                           WHERE ur.user_id = uf.user_id))) AS f`,
    [[...users].map((p) => p.userId)],
  );
  console.log(
    'farms plan:',
    farmPlan
      .map((r) => r['QUERY PLAN'])
      .filter((l: string) => /Scan|Loop|Join|Execution/.test(l))
      .join(' | '),
  );
  console.log(
    'session lookup plan:',
    plan
      .map((r) => r['QUERY PLAN'])
      .filter((l: string) => /Scan|Execution/.test(l))
      .join(' | '),
  );
} finally {
  await db.drop();
}
