import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedUser, TEST_PASSWORD } from '../test-seed.ts';

// Every admin route refuses an anonymous caller (401) and a farmer or technician (403) — found from the
// document's x-access, so a new admin route is covered without editing this test. (The closest
// existing system served storage admin routes without any login.)

const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      await seedUser(db.sql, 'f@example.com', ['farmer']);
      await seedUser(db.sql, 't@example.com', ['technician']);
    },
  },
);

test('every x-access: admin operation: 401 anonymous, 403 farmer and technician, nothing changed', async () => {
  const doc = (await (await ctx.server.app.request('/api/openapi.json')).json()) as {
    paths: Record<string, Record<string, { 'x-access': string }>>;
  };
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, op]) => op['x-access'] === 'admin')
      .map(([method]) => ({ method: method.toUpperCase(), path })),
  );
  assert.ok(ops.length >= 14, `found ${ops.length} admin operations`);
  const farmer = apiClient(ctx.server.app);
  await farmer.signIn('f@example.com', TEST_PASSWORD);
  const tech = apiClient(ctx.server.app);
  await tech.signIn('t@example.com', TEST_PASSWORD);
  const before = await ctx.db
    .sql`SELECT (SELECT count(*) FROM users) AS u, (SELECT count(*) FROM farms) AS f, (SELECT count(*) FROM announcements) AS a`;
  for (const { method, path } of ops) {
    const concrete = path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000001');
    const body = method === 'GET' || method === 'DELETE' ? undefined : {};
    assert.equal(
      (await apiClient(ctx.server.app).request(method, concrete, { body })).status,
      401,
      `${method} ${path} anonymous`,
    );
    assert.equal((await farmer.request(method, concrete, { body })).status, 403, `${method} ${path} farmer`);
    assert.equal(
      (await tech.request(method, concrete, { body })).status,
      403,
      `${method} ${path} technician`,
    );
  }
  const after = await ctx.db
    .sql`SELECT (SELECT count(*) FROM users) AS u, (SELECT count(*) FROM farms) AS f, (SELECT count(*) FROM announcements) AS a`;
  assert.deepEqual(after, before);
});
