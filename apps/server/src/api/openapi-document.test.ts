import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { apiClient } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { BODY_LIMIT_BYTES } from './request-validation.ts';

// The served document is a valid OpenAPI 3.1 document (checked against the official 3.1 JSON Schema),
// and it describes every /api/v1 route the app serves — no more, no less.

const ctx = useTestApp();

test('GET /api/openapi.json is a valid OpenAPI 3.1 document', async () => {
  const res = await ctx.server.app.request('/api/openapi.json');
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.equal(doc.openapi, '3.1.0');
  const validator = new Validator();
  const result = await validator.validate(doc as never);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, '3.1');
});

test('the document and the router list the same /api/v1 operations', async () => {
  const doc = (await (await ctx.server.app.request('/api/openapi.json')).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  const served = ctx.server.app.routes
    .filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/'))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
  assert.deepEqual([...new Set(documented)].sort(), [...new Set(served)].sort());
});

test('bigint path ids are documented as the decimal strings the answers carry (review r12 F7)', async () => {
  const doc = (await (await ctx.server.app.request('/api/openapi.json')).json()) as {
    paths: Record<
      string,
      Record<string, { parameters?: { name: string; in: string; schema: { type: string } }[] }>
    >;
  };
  const read = doc.paths['/api/v1/notifications/{id}/read']?.post;
  assert.ok(read, 'POST /notifications/{id}/read is documented');
  const id = read.parameters!.find((p) => p.in === 'path' && p.name === 'id')!;
  assert.deepEqual(
    [id.schema.type, (id.schema as { pattern?: string }).pattern],
    ['string', '^[1-9][0-9]{0,18}$'],
  );
});

type Operation = {
  parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
  responses: Record<string, { $ref?: string; headers?: Record<string, { $ref: string }> }>;
};
const documentOf = async () =>
  (await (await ctx.server.app.request('/api/openapi.json')).json()) as {
    paths: Record<string, Record<string, Operation>>;
    components: {
      headers: Record<string, unknown>;
      responses: Record<string, { headers?: Record<string, { $ref: string }> }>;
    };
  };

test('the headers clients read are declared as components/headers on the answers that send them (review r12 F12)', async () => {
  const doc = await documentOf();
  const { paths, components } = doc;
  assert.deepEqual(Object.keys(components.headers).sort(), ['ContentDisposition', 'Location', 'RetryAfter']);
  const headerOf = (r: { headers?: Record<string, { $ref: string }> } | undefined, name: string) =>
    r?.headers?.[name]?.$ref;
  assert.equal(headerOf(components.responses.E429, 'Retry-After'), '#/components/headers/RetryAfter');
  assert.equal(headerOf(components.responses.E503, 'Retry-After'), '#/components/headers/RetryAfter');
  const at = (path: string, method: string, status: number) =>
    paths[`/api/v1${path}`]?.[method]?.responses[status];
  assert.equal(headerOf(at('/assets/{id}/content', 'get', 302), 'Location'), '#/components/headers/Location');
  assert.equal(
    headerOf(at('/scans/{id}/corrections', 'post', 201), 'Location'),
    '#/components/headers/Location',
  );
  for (const file of ['/exports/scans.csv', '/exports/scans.geojson']) {
    assert.equal(
      headerOf(at(file, 'get', 200), 'Content-Disposition'),
      '#/components/headers/ContentDisposition',
    );
  }
});

test('every operation declares 413: the body limit answers before any route, bodyless ones too (review r12 F12)', async () => {
  const doc = await documentOf();
  const missing = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([, op]) => !op.responses['413'])
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
  assert.deepEqual(missing, []);
  // Answers checked against the document by the client: a 413 it did not declare fails here.
  const api = apiClient(ctx.server.app);
  const id = '00000000-0000-4000-8000-000000000000';
  const big = new Uint8Array(BODY_LIMIT_BYTES + 1);
  for (const [method, path] of [
    ['DELETE', `/api/v1/groups/${id}/animals/${id}`],
    ['PUT', `/api/v1/groups/${id}/animals/${id}`],
    ['POST', '/api/v1/notifications/read-all'],
    ['DELETE', '/api/v1/session'],
  ] as const) {
    // A client over a socket declares the length; app.request leaves that to the caller.
    const res = await api.request(method, path, {
      body: big,
      headers: { 'content-length': String(big.byteLength) },
    });
    assert.equal(res.status, 413, `${method} ${path}`);
    assert.equal(res.body.error, 'body_too_large');
  }
  const declaredOnly = await api.request('GET', '/api/v1/farms', {
    headers: { 'content-length': String(BODY_LIMIT_BYTES + 1) },
  });
  assert.equal(declaredOnly.status, 413);
});

test('page sizes carry their defaults, report days their bounds, in the schema (review r12 F12)', async () => {
  const { paths } = await documentOf();
  const param = (path: string, name: string) =>
    paths[`/api/v1${path}`]!.get!.parameters!.find((p) => p.in === 'query' && p.name === name)!.schema;
  assert.equal(param('/animals', 'limit').default, 100);
  assert.equal(param('/notifications', 'limit').default, 50);
  assert.equal(param('/scans', 'limit').default, 50);
  assert.equal(param('/devices/{id}/health', 'days').default, 7);
  assert.equal(param('/devices', 'tz').default, 'UTC');
  for (const path of ['/reports/farms/{id}', '/reports/groups/{id}']) {
    for (const name of ['from', 'to']) {
      const schema = param(path, name);
      assert.deepEqual(
        [schema.format, schema.formatMinimum, schema.formatMaximum],
        ['date', '0100-01-01', '9999-12-30'],
      );
    }
  }
  // The server's answer to a day beyond them is the bound the document gives.
  const admin = apiClient(ctx.server.app);
  await seedUser(ctx.db.sql, 'bounds-admin@example.com', ['admin']);
  assert.equal((await admin.signIn('bounds-admin@example.com', TEST_PASSWORD)).status, 200);
  const farm = await seedFarm(ctx.db.sql, 'Bounds Farm');
  for (const query of ['from=0099-12-31', 'to=9999-12-31']) {
    const res = await admin.request('GET', `/api/v1/reports/farms/${farm}?${query}`);
    assert.equal(res.status, 422, query);
    assert.match(res.body.message, /must be a day from 0100-01-01 to 9999-12-30/);
  }
  assert.equal(
    (await admin.request('GET', `/api/v1/reports/farms/${farm}?from=0100-01-01&to=9999-12-30`)).status,
    200,
  );
});
