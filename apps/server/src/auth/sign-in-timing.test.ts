import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testAuthConfig, useTestApp } from '../test-helpers.ts';
import { seedUser } from '../test-seed.ts';

// No enumeration through timing: a sign-in for an unknown email verifies the password against a dummy
// hash of the same cost, so it takes as long as a wrong password for a real account. With scrypt at a
// cost where one hash takes tens of milliseconds, skipping the hash would make unknown emails ~10x
// faster. The test compares the medians of interleaved attempts' CPU time (this process's, which
// counts the thread pool where scrypt runs; unlike wall time, other processes on a loaded CI machine do
// not move it) and checks that the answers are byte-identical apart from the request id.

const ctx = useTestApp(
  {
    auth: testAuthConfig({
      scrypt: { log2N: 12, r: 8, p: 2 },
      accountFailureLimit: 1000,
      addressFailureLimit: 1000,
    }),
  },
  {
    async seed({ db }) {
      await seedUser(db.sql, 'real@example.com', ['farmer']);
    },
  },
);

/** CPU milliseconds this process spent since `from` (user + system, every thread). */
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};

async function attempt(email: string): Promise<{ ms: number; body: string; status: number }> {
  const started = process.cpuUsage();
  const res = await ctx.server.app.request('/api/v1/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'definitely-not-it-42' }),
  });
  const body = (await res.text()).replace(/"request_id":"[^"]+"/, '');
  return { ms: cpuMs(started), body, status: res.status };
}

test('unknown email and wrong password take the same time and give the same answer', async () => {
  // The stored hash of seedUser uses log2N=10; make the real account's hash the configured cost.
  const { hashPassword } = await import('./password-hash.ts');
  await ctx.db
    .sql`UPDATE users SET password_hash = ${await hashPassword('whatever-it-was-1', { log2N: 12, r: 8, p: 2 })}
                    WHERE email = 'real@example.com'`;
  await attempt('warm-up@example.com');
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 12; i++) {
    const a = await attempt('real@example.com');
    const b = await attempt(`nobody-${i}@example.com`);
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.equal(a.body, b.body);
    known.push(a.ms);
    unknown.push(b.ms);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const ratio = median(unknown) / median(known);
  assert.ok(
    ratio > 0.6 && ratio < 1.6,
    `median CPU: unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(known).toFixed(1)} ms`,
  );
});
