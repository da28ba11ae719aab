// node --import ./apps/server/scripts/register-jsx.ts apps/server/scripts/bench-device-list.ts — prints
// figures, asserts nothing (review r14 F9). listDevices (the fleet, GET /api/v1/devices) and one device
// (the device page, every /api/v1/devices/{id}* route) for an admin, a technician and a farmer of a
// database seeded by bench-api-seed.ts (BENCH_DATABASE_URL; the users admin@, tech0@, farmer0@
// bench.example), BENCH_RUNS warm runs each (default 5) after one cold run.
import postgres from 'postgres';
import { listDevices } from '../src/access/device-queries.ts';
import type { Principal } from '../src/auth/principal.ts';

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error('BENCH_DATABASE_URL is not set: the database bench-api-seed.ts seeded');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const sql = postgres(url, { max: 1, onnotice: () => {} });

async function principal(email: string, role: 'admin' | 'technician' | 'farmer'): Promise<Principal> {
  const [user] = await sql<{ id: string }[]>`SELECT id FROM users WHERE email = ${email}`;
  if (!user) throw new Error(`${email} is not in the database: seed it with bench-api-seed.ts`);
  return {
    userId: user.id,
    email,
    fullName: null,
    roles: [role],
    csrfToken: '',
    sessionHash: Buffer.alloc(32),
  } as never;
}

const ms = async (run: () => Promise<unknown>) => {
  const t = performance.now();
  await run();
  return performance.now() - t;
};

const farmZones = new Map(
  (await sql<{ id: string }[]>`SELECT id FROM farms`).map((f) => [f.id, 'America/Chicago']),
);
for (const [email, role] of [
  ['admin@bench.example', 'admin'],
  ['tech0@bench.example', 'technician'],
  ['farmer0@bench.example', 'farmer'],
] as const) {
  const p = await principal(email, role);
  const [{ n }] = (await sql`
    SELECT count(*)::int AS n FROM scans s
     WHERE s.farm_id IN (SELECT farm_id FROM user_farms WHERE user_id = ${p.userId})`) as unknown as [
    { n: number },
  ];
  const rows = await listDevices(sql, p, { farmZones });
  const one = rows[0]?.id;
  const list: number[] = [];
  const single: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    list.push(await ms(() => listDevices(sql, p, { farmZones })));
    single.push(await ms(() => listDevices(sql, p, { id: one, farmZones })));
  }
  const f = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(
    `${email.padEnd(22)} readable scans ${String(role === 'admin' ? 'all' : n).padStart(7)}  devices ${rows.length}  ` +
      `list ms ${f(list)}  one device ms ${f(single)}`,
  );
}
await sql.end();
