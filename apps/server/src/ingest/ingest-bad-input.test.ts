import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WebhookBody } from '@cti/contracts';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { countRows, signedInit, useTestApp } from '../test-helpers.ts';

const ctx = useTestApp();

const now = () => Math.floor(Date.now() / 1000);
const body = (overrides: Partial<WebhookBody> & Record<string, unknown> = {}) =>
  exampleWebhookBody(overrides);
const meta = exampleMeta;
const raw = () => JSON.stringify(body());

/** The body as JSON text with meta_json.gps's lat and lon written as given (numbers JSON.stringify cannot write). */
const gpsJson = (lat: string, lon: string) =>
  JSON.stringify(body({ meta_json: meta({ gps: { lat: 12.5, lon: 34.5 } }) })).replace(
    '"gps":{"lat":12.5,"lon":34.5}',
    `"gps":{"lat":${lat},"lon":${lon}}`,
  );

/** Signed, then one header replaced or removed. */
function withHeader(name: string, value: string | null, payload = raw()): RequestInit {
  const headers = { ...(signedInit(payload).headers as Record<string, string>) };
  if (value === null) delete headers[name];
  else headers[name] = value;
  return { method: 'POST', body: payload, headers };
}

type Case = {
  name: string;
  init: () => RequestInit;
  status: number;
  error: string;
  /** For 422: a JSON pointer that must be among the problems. */
  pointer?: string;
};

const SIG = 'X-CTI-Signature';
const TS = 'X-CTI-Timestamp';
const dir = 'raw/dev-0001/2025/09/09/cap_1757423584/';

const cases: Case[] = [
  // signature and timestamp → 401
  {
    name: 'missing timestamp header',
    init: () => withHeader(TS, null),
    status: 401,
    error: 'missing_timestamp',
  },
  {
    name: 'missing signature header',
    init: () => withHeader(SIG, null),
    status: 401,
    error: 'missing_signature',
  },
  {
    name: 'timestamp not digits',
    init: () => withHeader(TS, 'yesterday'),
    status: 401,
    error: 'malformed_timestamp',
  },
  {
    name: 'timestamp with a fraction',
    init: () => withHeader(TS, `${now()}.5`),
    status: 401,
    error: 'malformed_timestamp',
  },
  {
    name: 'timestamp in milliseconds',
    init: () => signedInit(body(), { timestamp: Date.now() }),
    status: 401,
    error: 'malformed_timestamp',
  },
  {
    name: 'stale timestamp (301 s old)',
    init: () => signedInit(body(), { timestamp: now() - 301 }),
    status: 401,
    error: 'stale_timestamp',
  },
  {
    name: 'future timestamp (+301 s)',
    init: () => signedInit(body(), { timestamp: now() + 301 }),
    status: 401,
    error: 'future_timestamp',
  },
  {
    name: 'signature with sha1= prefix',
    init: () => withHeader(SIG, `sha1=${'a'.repeat(40)}`),
    status: 401,
    error: 'malformed_signature',
  },
  {
    name: 'signature not hex',
    init: () => withHeader(SIG, `sha256=${'z'.repeat(64)}`),
    status: 401,
    error: 'malformed_signature',
  },
  {
    name: 'signed with an unknown secret',
    init: () => signedInit(body(), { secret: 'not-the-secret-0123456789' }),
    status: 401,
    error: 'bad_signature',
  },
  {
    name: 'body changed after signing',
    init: () => ({ ...signedInit(body()), body: JSON.stringify(body({ bucket: 'cti-prod-bucket' })) }),
    status: 401,
    error: 'bad_signature',
  },
  {
    name: 'valid signature moved to a new timestamp',
    init: () => withHeader(TS, String(now() - 10), raw()),
    status: 401,
    error: 'bad_signature',
  },
  // content type → 415
  {
    name: 'no content type',
    init: () => signedInit(body(), { contentType: null }),
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: 'text/plain',
    init: () => signedInit(body(), { contentType: 'text/plain' }),
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: 'form encoded',
    init: () => signedInit(body(), { contentType: 'application/x-www-form-urlencoded' }),
    status: 415,
    error: 'unsupported_media_type',
  },
  {
    name: 'json-patch+json',
    init: () => signedInit(body(), { contentType: 'application/json-patch+json' }),
    status: 415,
    error: 'unsupported_media_type',
  },
  // body → 400
  { name: 'not JSON', init: () => signedInit('hello'), status: 400, error: 'invalid_json' },
  { name: 'truncated JSON', init: () => signedInit(raw().slice(0, 40)), status: 400, error: 'invalid_json' },
  { name: 'empty body', init: () => signedInit(''), status: 400, error: 'invalid_json' },
  {
    name: 'invalid UTF-8',
    init: () => signedInit(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    status: 400,
    error: 'invalid_json',
  },
  // size → 413
  {
    name: 'body over 1 MiB',
    init: () => signedInit(body({ padding: 'x'.repeat(1024 * 1024) })),
    status: 413,
    error: 'body_too_large',
  },
  // schema → 422 with pointers
  { name: 'JSON array', init: () => signedInit([]), status: 422, error: 'invalid_webhook', pointer: '' },
  { name: 'JSON null', init: () => signedInit('null'), status: 422, error: 'invalid_webhook', pointer: '' },
  {
    name: 'bucket missing',
    init: () => signedInit({ ...body(), bucket: undefined }),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/bucket',
  },
  {
    name: 'meta_json missing',
    init: () => signedInit({ ...body(), meta_json: undefined }),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json',
  },
  {
    name: 'objects empty',
    init: () => signedInit(body({ objects: [] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/objects',
  },
  {
    name: 'objects without meta.json',
    init: () => signedInit(body({ objects: ['image.jpg'] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/objects',
  },
  {
    name: 'meta_version 2.0.0',
    init: () => signedInit(body({ meta_json: meta({ meta_version: '2.0.0' }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/meta_version',
  },
  {
    name: 'gps lat 91',
    init: () => signedInit(body({ meta_json: meta({ gps: { lat: 91, lon: 0 } }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lat',
  },
  // coordinates the database refuses (migration 0033's constraints) are refused here first: 422, not a 500
  {
    name: 'gps lat 95',
    init: () => signedInit(body({ meta_json: meta({ gps: { lat: 95, lon: 0 } }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lat',
  },
  {
    name: 'gps lon 400',
    init: () => signedInit(body({ meta_json: meta({ gps: { lat: 0, lon: 400 } }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lon',
  },
  {
    name: 'gps lat 1e308 (huge, finite)',
    init: () => signedInit(body({ meta_json: meta({ gps: { lat: 1e308, lon: 0 } }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lat',
  },
  {
    // JSON.parse reads 1e400 as Infinity
    name: 'gps lon 1e400 (Infinity once parsed)',
    init: () => signedInit(gpsJson('0', '1e400')),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lon',
  },
  {
    name: 'gps lat -1e400 (-Infinity once parsed)',
    init: () => signedInit(gpsJson('-1e400', '0')),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lat',
  },
  {
    name: 'gps lat "NaN" (a string)',
    init: () => signedInit(gpsJson('"NaN"', '0')),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lat',
  },
  {
    name: 'captured_at not UTC',
    init: () => signedInit({ ...body(), meta_json: { ...meta(), captured_at: '2025-09-09T16:18:32+02:00' } }),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/captured_at',
  },
  {
    name: 'image_sha256 too short',
    init: () => signedInit(body({ meta_json: meta({ image_sha256: 'abc123' }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/image_sha256',
  },
  {
    name: 'bbox x_max < x_min',
    init: () =>
      signedInit(body({ meta_json: meta({ inference_summary: { ribeye_bbox: [420, 88, 120, 300] } }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/inference_summary/ribeye_bbox/2',
  },
  {
    name: 'mask file without mask_sha256',
    init: () =>
      signedInit(
        body({
          meta_json: meta({ files: { image_relpath: 'image.jpg', mask_relpath: 'mask.png', extra: [] } }),
        }),
      ),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/mask_sha256',
  },
  {
    name: 'several problems at once are all reported',
    init: () =>
      signedInit({
        ...body(),
        device_code: 'BAD CODE',
        meta_json: { ...meta(), gps: { lat: 100, lon: 200 } },
      }),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/gps/lon',
  },
  // consistency → 422
  {
    name: 'ingest_key date ≠ captured_at date',
    init: () => signedInit(body({ ingest_key: 'raw/dev-0001/2025/09/10/cap_1757423584/' })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/ingest_key',
  },
  {
    name: 'ingest_key capture_id ≠ meta capture_id',
    init: () => signedInit(body({ ingest_key: 'raw/dev-0001/2025/09/09/cap_other/' })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/ingest_key',
  },
  {
    name: 'device_code ≠ ingest_key device',
    init: () => signedInit(body({ device_code: 'dev-0002' })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/device_code',
  },
  {
    name: 'meta device_code ≠ device_code',
    init: () =>
      signedInit(
        body({ meta_json: meta({ device_code: 'dev-0002' }), ingest_key: dir, device_code: 'dev-0001' }),
      ),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/device_code',
  },
  {
    name: 'objects lack the image meta names',
    init: () => signedInit(body({ objects: ['meta.json', 'other.jpg'] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/objects',
  },
  {
    name: 'object_details hash ≠ image_sha256',
    init: () =>
      signedInit(body({ object_details: [{ name: 'image.jpg', size_bytes: 10, sha256: 'f'.repeat(64) }] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/object_details/0/sha256',
  },
  {
    name: 'object_details names an unlisted object',
    init: () => signedInit(body({ object_details: [{ name: 'ghost.png', size_bytes: 10, sha256: null }] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/object_details/0/name',
  },
  // layout escape attempts → 422
  {
    name: 'ingest_key with ../',
    init: () => signedInit(body({ ingest_key: 'raw/dev-0001/2025/09/09/../../../../etc/' })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/ingest_key',
  },
  {
    name: 'ingest_key ending in ../',
    init: () => signedInit(body({ ingest_key: `${dir}../` })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/ingest_key',
  },
  {
    name: 'absolute ingest_key',
    init: () => signedInit(body({ ingest_key: `/${dir}` })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/ingest_key',
  },
  {
    name: 'ingest_key under processed/',
    init: () => signedInit(body({ ingest_key: 'processed/cap_1757423584/' })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/ingest_key',
  },
  {
    name: 'ingest_key with a file name',
    init: () => signedInit(body({ ingest_key: `${dir}meta.json` })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/ingest_key',
  },
  {
    name: 'object ../secret',
    init: () => signedInit(body({ objects: ['image.jpg', 'meta.json', '../secret'] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/objects/2',
  },
  {
    name: 'object in a subdirectory',
    init: () => signedInit(body({ objects: ['image.jpg', 'meta.json', 'sub/x.png'] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/objects/2',
  },
  {
    name: 'image_relpath ../image.jpg',
    init: () =>
      signedInit(
        body({
          meta_json: meta({ files: { image_relpath: '../image.jpg', mask_relpath: null, extra: [] } }),
          objects: ['meta.json'],
        }),
      ),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/files/image_relpath',
  },
  {
    name: 'hidden object .env',
    init: () => signedInit(body({ objects: ['image.jpg', 'meta.json', '.env'] })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/objects/2',
  },
  // strings Postgres cannot store → 422, not a 500 at insert time
  {
    name: 'NUL character in operator_id',
    init: () => signedInit(body({ meta_json: meta({ operator_id: 'tech\u0000abc' }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/operator_id',
  },
  {
    name: 'NUL character in relay.source',
    init: () => signedInit(body({ relay: { source: 'la\u0000mbda', emitted_at: '2025-09-09T14:18:40Z' } })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/relay/source',
  },
  {
    // JSON.stringify writes a lone surrogate as the escape "\ud800"; stored, it would become U+FFFD
    name: 'unpaired surrogate in meta operator_id',
    init: () => signedInit(body({ meta_json: meta({ operator_id: 'tech\ud800abc' }) })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_json/operator_id',
  },
  {
    name: 'unpaired low surrogate in relay.source',
    init: () => signedInit(body({ relay: { source: 'lambda\udc00', emitted_at: '2025-09-09T14:18:40Z' } })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/relay/source',
  },
  {
    name: 'raw NUL byte in a non-JSON body',
    init: () => signedInit(new Uint8Array([0x7b, 0x00, 0x7d])),
    status: 400,
    error: 'invalid_json',
  },
  // numbers beyond what Postgres stores → 422 (assets.size_bytes is a bigint; these used to be a 500)
  {
    name: 'object size beyond 2^53 - 1',
    init: () =>
      signedInit(
        body({ object_details: [{ name: 'image.jpg', size_bytes: 1e20, sha256: meta().image_sha256 }] }),
      ),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/object_details/0/size_bytes',
  },
  {
    name: 'meta_size_bytes beyond 2^53 - 1',
    init: () => signedInit(body({ meta_size_bytes: 1e300 })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/meta_size_bytes',
  },
  {
    // 200 kB of brackets, under the body limit: used to overflow the stack of the NUL walk (500)
    name: 'an unknown property nested 100 000 levels deep',
    init: () => signedInit(`{"deep":${'['.repeat(100_000)}${']'.repeat(100_000)},${raw().slice(1)}`),
    status: 422,
    error: 'invalid_webhook',
    pointer: `/deep${'/0'.repeat(63)}`,
  },
  // bucket → 422
  {
    name: 'bucket this server does not ingest',
    init: () => signedInit(body({ bucket: 'someone-elses-bucket' })),
    status: 422,
    error: 'unknown_bucket',
    pointer: '/bucket',
  },
  {
    name: 'invalid bucket name',
    init: () => signedInit(body({ bucket: 'Not_A_Bucket' })),
    status: 422,
    error: 'invalid_webhook',
    pointer: '/bucket',
  },
];

describe(`bad input through app.request() (${cases.length} cases)`, () => {
  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.error}`, async () => {
      const before = await countRows(ctx.db.sql);
      const res = await ctx.server.app.request('/ingest/webhook', c.init());
      const answer = (await res.json()) as {
        error: string;
        message: string;
        problems?: { pointer: string; message: string }[];
      };
      assert.equal(res.status, c.status, `status; answer: ${JSON.stringify(answer)}`);
      assert.equal(answer.error, c.error);
      assert.ok(answer.message.length > 10, 'a sentence that names the problem');
      if (c.status === 422) {
        assert.ok(answer.problems && answer.problems.length > 0, 'problems listed');
        const pointers = answer.problems.map((p) => p.pointer);
        assert.ok(pointers.includes(c.pointer!), `pointer ${c.pointer} among ${JSON.stringify(pointers)}`);
      }
      await ctx.server.ingestionLog.flush();
      const after = await countRows(ctx.db.sql);
      assert.deepEqual(
        {
          scans: after.scans,
          assets: after.assets,
          devices: after.devices,
          events: after.scanEvents,
          jobs: after.gradingJobs,
        },
        { scans: 0, assets: 0, devices: 0, events: 0, jobs: 0 },
      );
      assert.equal(after.ingestionLog, before.ingestionLog + 1, 'exactly one ingestion_log row');
      const [log] = await ctx.db.sql`SELECT * FROM ingestion_log ORDER BY id DESC LIMIT 1`;
      assert.equal(log?.http_status, c.status);
      assert.equal(log?.error_code, c.error);
      assert.equal(log?.error, answer.message);
      assert.ok(log?.bytes_in >= 0);
    });
  }

  test('several problems come back with one pointer each', async () => {
    const init = signedInit({
      ...body(),
      device_code: 'BAD CODE',
      meta_json: { ...meta(), gps: { lat: 100, lon: 200 } },
    });
    const answer = (await (await ctx.server.app.request('/ingest/webhook', init)).json()) as {
      problems: { pointer: string }[];
    };
    const pointers = answer.problems.map((p) => p.pointer).sort();
    assert.deepEqual(pointers, ['/device_code', '/meta_json/gps/lat', '/meta_json/gps/lon']);
  });

  test('a rejected but authenticated body is logged with its capture_id and ingest key', async () => {
    await ctx.server.app.request('/ingest/webhook', signedInit(body({ bucket: 'someone-elses-bucket' })));
    await ctx.server.ingestionLog.flush();
    const [log] = await ctx.db.sql`SELECT capture_id, ingest_key FROM ingestion_log ORDER BY id DESC LIMIT 1`;
    assert.equal(log?.capture_id, 'cap_1757423584');
    assert.equal(log?.ingest_key, `s3://someone-elses-bucket/${dir}`);
  });
});
