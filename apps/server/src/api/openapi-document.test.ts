import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { useTestApp } from '../test-helpers.ts';

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
