import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@cti/runtime';
import { createApp } from '../app.ts';
import { createDatabaseClient } from '../db/database-client.ts';
import { createServerMetrics } from '../metrics.ts';
import { apiClient } from '../test-api-client.ts';
import { testConfig } from '../test-helpers.ts';

// With the database unreachable, API and pages answer 503 + Retry-After (retry later), not 500. The
// API's answers are checked against the OpenAPI document, Retry-After included (review r12 F12).

test('database unreachable → 503 database_unavailable with Retry-After, for sign-in and signed-in calls', async () => {
  const sql = createDatabaseClient({
    url: 'postgres://cti:cti@127.0.0.1:1/none',
    max: 1,
    connectTimeoutSeconds: 1,
  });
  const { app, close } = createApp({
    sql,
    config: testConfig(),
    log: silentLogger(),
    metrics: createServerMetrics({ dbPoolMax: 1, defaults: false }),
  });
  try {
    const api = apiClient(app);
    const signIn = await api.signIn('a@example.com', 'whatever-it-is-1');
    assert.equal(signIn.status, 503);
    assert.equal(signIn.headers.get('retry-after'), '7');
    assert.equal(signIn.body.error, 'database_unavailable');
    const me = await api.request('GET', '/api/v1/me', {
      headers: { cookie: `cti_session=${'a'.repeat(43)}` },
    });
    assert.equal(me.status, 503);
    assert.equal(me.headers.get('retry-after'), '7');
    const page = await app.request('/account', { headers: { cookie: `cti_session=${'a'.repeat(43)}` } });
    assert.equal(page.status, 503);
  } finally {
    await close();
    await sql.end({ timeout: 1 });
  }
});
