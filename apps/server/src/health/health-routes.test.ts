import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exampleWebhookBody } from '@cti/contracts/testing';
import { listMigrations } from '@cti/db';
import { silentLogger } from '@cti/runtime';
import { pino } from 'pino';
import { createApp } from '../app.ts';
import { createDatabaseClient } from '../db/database-client.ts';
import { createServerMetrics } from '../metrics.ts';
import { signedInit, testConfig, useTestApp } from '../test-helpers.ts';

const ctx = useTestApp();

test('/healthz and /readyz on a migrated database', async () => {
  const health = await ctx.server.app.request('/healthz');
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const ready = await ctx.server.app.request('/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', migrations: listMigrations().length });
});

test('/readyz is 503 when the code ships a migration the database lacks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-migrations-'));
  for (const m of listMigrations()) writeFileSync(join(dir, m.file), m.sql);
  writeFileSync(join(dir, '9999_future_change.sql'), 'SELECT 1;');
  const metrics = createServerMetrics({ dbPoolMax: 1, defaults: false });
  const app = createApp({
    sql: ctx.db.sql,
    config: testConfig(),
    log: silentLogger(),
    metrics,
    migrationsDir: dir,
  });
  const ready = await app.app.request('/readyz');
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), {
    status: 'not_ready',
    reason: 'migrations',
    pending: ['9999_future_change.sql'],
    problems: [],
  });
  await app.close();
});

test("/readyz with the database unreachable: reason only, the driver's message (address, user) in the log only (review r22 F12)", async () => {
  const sql = createDatabaseClient({
    url: 'postgres://cti-secret-user:pw@127.0.0.1:1/nowhere',
    max: 1,
    connectTimeoutSeconds: 1,
  });
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const app = createApp({
    sql,
    config: testConfig(),
    log,
    metrics: createServerMetrics({ dbPoolMax: 1, defaults: false }),
  });
  try {
    const ready = await app.app.request('/readyz');
    assert.equal(ready.status, 503);
    const text = await ready.text();
    assert.deepEqual(JSON.parse(text), { status: 'not_ready', reason: 'database' });
    assert.doesNotMatch(text, /127\.0\.0\.1|ECONNREFUSED|cti-secret-user/);
    const logged = logs.find((l) => l.msg === 'readiness: database unreachable');
    assert.match(JSON.stringify(logged?.err), /ECONNREFUSED/, 'the operator still sees why');
  } finally {
    await app.close();
    await sql.end({ timeout: 1 });
  }
});

test('/metrics counts requests by route and status, and ingest outcomes by reason', async () => {
  await ctx.server.app.request('/ingest/webhook', signedInit(exampleWebhookBody()));
  await ctx.server.app.request('/ingest/webhook', signedInit(exampleWebhookBody()));
  await ctx.server.app.request(
    '/ingest/webhook',
    signedInit(exampleWebhookBody(), { secret: 'wrong-secret-0123456789' }),
  );
  await ctx.server.app.request('/nowhere');
  const res = await ctx.server.app.request('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /cti_http_requests_total\{route="\/ingest\/webhook",method="POST",status="201"\} 1/);
  assert.match(text, /cti_http_requests_total\{route="\/ingest\/webhook",method="POST",status="200"\} 1/);
  assert.match(text, /cti_http_requests_total\{route="\/ingest\/webhook",method="POST",status="401"\} 1/);
  assert.match(text, /cti_http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
  assert.match(text, /cti_ingest_outcomes_total\{outcome="accepted",reason="ok"\} 1/);
  assert.match(text, /cti_ingest_outcomes_total\{outcome="replayed",reason="ok"\} 1/);
  assert.match(text, /cti_ingest_outcomes_total\{outcome="rejected",reason="bad_signature"\} 1/);
  assert.match(text, /cti_db_pool_max 10/);
  assert.match(text, /cti_http_request_duration_seconds_bucket\{le="0.05",route="\/ingest\/webhook"\} \d+/);
});

test('process metrics include event-loop lag when defaults are on', async () => {
  const metrics = createServerMetrics({ dbPoolMax: 3 });
  assert.match(await metrics.registry.metrics(), /cti_server_nodejs_eventloop_lag_seconds/);
});
