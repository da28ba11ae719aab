import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compileValidator,
  formatProblem,
  heartbeatSchema,
  metaSchema,
  unknownFields,
  webhookBodySchema,
  withoutUnknownFields,
} from './index.ts';
import { exampleMeta, exampleWebhookBody } from './testing.ts';

// A config-like schema of the kind other packages compile: closed objects, enums, consts.
const configSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['mode', 'port'],
  properties: {
    mode: { enum: ['serial', 'folder'] },
    kind: { const: 'agent' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    name: { type: 'string', minLength: 3, maxLength: 5 },
    code: { type: 'string', pattern: '^[A-Z]{3}$' },
    url: { type: 'string', format: 'uri' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 1 },
    'odd/key~': { type: 'boolean' },
    nested: { type: 'object', additionalProperties: false, properties: { a: { type: 'number' } } },
  },
} as const;
const validateConfig = compileValidator<{ mode: string; port: number }>(configSchema);

function lines(data: unknown): string[] {
  const r = validateConfig(data);
  return r.ok ? [] : r.problems.map(formatProblem);
}

describe('compileValidator', () => {
  test('returns the value when valid', () => {
    assert.deepEqual(validateConfig({ mode: 'serial', port: 8080 }), {
      ok: true,
      value: { mode: 'serial', port: 8080 },
    });
  });

  const rows: [string, unknown, string[]][] = [
    ['required names the missing property', {}, ['/mode: is required', '/port: is required']],
    [
      'additionalProperties names the property',
      { mode: 'serial', port: 1, prot: 2 },
      ['/prot: is not an allowed property'],
    ],
    [
      'nested additionalProperties',
      { mode: 'serial', port: 1, nested: { b: 1 } },
      ['/nested/b: is not an allowed property'],
    ],
    [
      'enum lists the allowed values',
      { mode: 'gpio', port: 1 },
      ['/mode: must be one of "serial", "folder"'],
    ],
    ['const names the value', { mode: 'serial', port: 1, kind: 'relay' }, ['/kind: must be "agent"']],
    ['integer type', { mode: 'serial', port: 1.5 }, ['/port: must be integer']],
    ['maximum', { mode: 'serial', port: 70000 }, ['/port: must be <= 65535']],
    ['minLength', { mode: 'serial', port: 1, name: 'ab' }, ['/name: must be at least 3 characters long']],
    ['maxLength', { mode: 'serial', port: 1, name: 'abcdef' }, ['/name: must be at most 5 characters long']],
    [
      'pattern without a hint shows the pattern',
      { mode: 'serial', port: 1, code: 'ab' },
      ['/code: must match the pattern ^[A-Z]{3}$'],
    ],
    [
      'format without a hint names the format',
      { mode: 'serial', port: 1, url: 'not a uri' },
      ['/url: must be a valid uri'],
    ],
    ['maxItems', { mode: 'serial', port: 1, tags: ['a', 'b'] }, ['/tags: must have at most 1 item']],
    [
      'pointer escaping (RFC 6901)',
      { mode: 'serial', port: 1, 'odd/key~': 'x' },
      ['/odd~1key~0: must be boolean'],
    ],
  ];
  for (const [name, data, expected] of rows) {
    test(name, () => assert.deepEqual(lines(data), expected));
  }

  test('compiles the published schemas (webhook body resolves meta.json by $id)', () => {
    const validateBody = compileValidator(webhookBodySchema);
    assert.equal(validateBody(exampleWebhookBody()).ok, true);
    const r = validateBody(exampleWebhookBody({ meta_json: exampleMeta({ gps: { lat: 0, lon: 200 } }) }));
    assert.deepEqual(!r.ok && r.problems.map(formatProblem), ['/meta_json/gps/lon: must be <= 180']);
    assert.equal(compileValidator(metaSchema)(exampleMeta()).ok, true);
  });

  test('dates in the year 0000 (which Postgres cannot hold) are invalid', () => {
    const validate = compileValidator<{ d?: string; t?: string }>({
      type: 'object',
      properties: { d: { type: 'string', format: 'date' }, t: { type: 'string', format: 'date-time' } },
    });
    const problems = (value: object) => {
      const r = validate(value);
      return r.ok ? [] : r.problems.map((p) => `${p.pointer} ${p.message}`);
    };
    assert.deepEqual(problems({ d: '0001-01-01', t: '2016-12-31T23:59:59.999Z' }), []);
    assert.deepEqual(problems({ d: '2024-02-29', t: '0001-01-01T00:00:00+01:00' }), []);
    assert.deepEqual(problems({ d: '0000-01-01' }), ['/d must be a valid date']);
    assert.deepEqual(problems({ t: '0000-06-01T00:00:00Z' }), ['/t must be a valid date-time']);
    assert.deepEqual(problems({ d: '2025-02-29' }), ['/d must be a valid date']);
  });

  test('a date outside formatMinimum/formatMaximum reads like the other messages, or as its x-expected', () => {
    const validate = compileValidator({
      type: 'object',
      properties: {
        d: { type: 'string', format: 'date', formatMinimum: '0100-01-01', formatMaximum: '9999-12-30' },
        e: { type: 'string', format: 'date', formatExclusiveMinimum: '2000-01-01' },
        x: {
          type: 'string',
          format: 'date',
          formatMinimum: '0100-01-01',
          'x-expected': 'a day from 0100-01-01',
        },
      },
    });
    const r = validate({ d: '9999-12-31', e: '2000-01-01', x: '0099-12-31' });
    assert.deepEqual(r.ok ? [] : r.problems.map((p) => `${p.pointer} ${p.message}`), [
      '/d must be <= 9999-12-30',
      '/e must be > 2000-01-01',
      '/x must be a day from 0100-01-01',
    ]);
  });

  test('a schema is compiled on the first call: a schema Ajv refuses throws there and on every later call', () => {
    const validate = compileValidator({ type: 'object', properties: { a: { type: 'strnig' } } });
    assert.throws(() => validate({ a: 1 }), /schema is invalid: data\/properties\/a\/type/);
    assert.throws(() => validate({ a: 1 }), /strnig/); // not a validator that passes everything after
    const calls = compileValidator<{ a: number }>({ type: 'object', properties: { a: { type: 'integer' } } });
    assert.deepEqual(calls({ a: 1 }), { ok: true, value: { a: 1 } });
    assert.equal(calls({ a: 1.5 }).ok, false);
  });

  test('formatProblem renders the root as (root)', () => {
    assert.equal(formatProblem({ pointer: '', message: 'must be object' }), '(root): must be object');
  });
});

describe('unknownFields', () => {
  test('lists undeclared properties at any depth, not declared ones', () => {
    const meta = {
      ...exampleMeta({ acquisition: { quality: { sharpness: 1 } } }),
      captured_on: 'x',
      gps: { lat: 1, lon: 2, hdop: 1 },
    };
    assert.deepEqual(unknownFields(metaSchema, meta), ['/gps/hdop', '/captured_on']);
    assert.deepEqual(unknownFields(metaSchema, exampleMeta()), []);
  });

  test('follows meta_json in the webhook body and array items', () => {
    const body = {
      ...exampleWebhookBody({
        object_details: [{ name: 'meta.json', size_bytes: 1, sha256: null, etag: 'x' }] as never,
      }),
      trace: 1,
    };
    body.meta_json = { ...body.meta_json, extra_top: true } as typeof body.meta_json;
    assert.deepEqual(unknownFields(webhookBodySchema, body), [
      '/object_details/0/etag',
      '/meta_json/extra_top',
      '/trace',
    ]);
  });

  test('ignores values of the wrong shape (validation reports those)', () => {
    assert.deepEqual(unknownFields(metaSchema, 'text'), []);
    assert.deepEqual(unknownFields(metaSchema, { gps: [1, 2] }), []);
  });
});

describe('withoutUnknownFields', () => {
  test('drops undeclared properties at any depth; keeps declared ones, nulls, array items and typed additionalProperties', () => {
    const heartbeat = {
      heartbeat_version: '1.0.0',
      device_code: 'dev-0001',
      sent_at: '2026-12-05T10:00:00.000Z',
      agent_version: '0.1.0',
      uptime_s: 1,
      models: [{ name: 'ribeye-hint', version: '3.0.0', sha: 'x' }],
      outbox: { pending_captures: 0, pending_bytes: 0, oldest_pending_age_s: null, quarantined: 0, later: 1 },
      disk: { free_bytes: null },
      clock: { synced: true },
      probe: { connected: true },
      last_error: null,
      captures_by_result: { captured: 3, not_a_ribeye_view: 1 },
      padding: 'x'.repeat(1000),
      ['__proto__']: { polluted: true },
    };
    const kept = withoutUnknownFields(heartbeatSchema, JSON.parse(JSON.stringify(heartbeat)));
    assert.deepEqual(unknownFields(heartbeatSchema, kept), []);
    assert.deepEqual(kept, {
      heartbeat_version: '1.0.0',
      device_code: 'dev-0001',
      sent_at: '2026-12-05T10:00:00.000Z',
      agent_version: '0.1.0',
      uptime_s: 1,
      models: [{ name: 'ribeye-hint', version: '3.0.0' }],
      outbox: { pending_captures: 0, pending_bytes: 0, oldest_pending_age_s: null, quarantined: 0 },
      disk: { free_bytes: null },
      clock: { synced: true },
      probe: { connected: true },
      last_error: null,
      captures_by_result: { captured: 3, not_a_ribeye_view: 1 },
    });
    assert.equal(Object.getPrototypeOf(kept), Object.prototype);
  });
});
