import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatProblem,
  MAX_CAPTURE_OBJECTS,
  MAX_EXTRA_FILES,
  type MetaJson,
  validateMeta,
  validateWebhookBody,
  type WebhookBody,
} from './index.ts';
import { EXAMPLE_IMAGE_SHA256, EXAMPLE_MASK_SHA256, exampleMeta, exampleWebhookBody } from './testing.ts';

const META_SHA = '7f589ba16b5458db9b8d3154422615273470a3ab0caa0f867e7fb45a7636d205';
type Body = Partial<WebhookBody> & Record<string, unknown>;

function problemLines(data: unknown): string[] {
  const result = validateWebhookBody(data);
  return result.ok ? [] : result.problems.map(formatProblem);
}

function without(key: string): Body {
  const body: Record<string, unknown> = exampleWebhookBody();
  delete body[key];
  return body;
}

const body = (overrides: Body) => ({ ...exampleWebhookBody(), ...overrides });
const details = (entries: unknown[], extra: Body = {}) =>
  body({ object_details: entries as WebhookBody['object_details'], ...extra });
const imageDetail = { name: 'image.jpg', size_bytes: 123456, sha256: EXAMPLE_IMAGE_SHA256 };
const metaDetail = { name: 'meta.json', size_bytes: 724, sha256: META_SHA };

describe('valid webhook bodies', () => {
  const valid: [string, unknown][] = [
    ['the spec example (§5.3, meta_json as §5.2)', exampleWebhookBody()],
    [
      'with all additive fields',
      details([imageDetail, metaDetail], {
        meta_sha256: META_SHA,
        meta_size_bytes: 724,
        relay: { source: 'lambda', event_id: 'evt-1', emitted_at: '2025-09-09T14:18:40Z' },
      }),
    ],
    ['object_details with an unhashed file', details([{ ...imageDetail, sha256: null }])],
    [
      'a mask and extra files listed',
      exampleWebhookBody({
        meta_json: exampleMeta({
          mask_sha256: EXAMPLE_MASK_SHA256,
          files: { image_relpath: 'image.png', mask_relpath: 'mask.png', extra: ['frames.json'] },
        }),
      }),
    ],
    [
      'more objects than meta names (ignored by the server)',
      body({ objects: ['image.jpg', 'notes.txt', 'meta.json'] }),
    ],
    ['unknown top-level property (forward compatible)', body({ trace_id: 'abc' })],
    [
      'captured_at near midnight maps to its UTC date',
      exampleWebhookBody({ meta_json: exampleMeta({ captured_at: '2025-12-31T23:59:59.999Z' }) }),
    ],
  ];
  for (const [name, doc] of valid) {
    test(name, () => assert.deepEqual(problemLines(doc), []));
  }
});

const KEY_HINT =
  'must be a raw capture directory "raw/{device_code}/{YYYY}/{MM}/{DD}/{capture_id}/" ending in "/"';
const NAME_HINT = 'must be a plain file name relative to ingest_key (letters, digits, . _ -; no slashes)';
const KEY = 'raw/dev-0001/2025/09/09/cap_1757423584/';

// Each row: a body and EXACTLY the problem lines it must produce.
const invalid: [string, unknown, string[]][] = [
  [
    'meta_json captured_at the layout cannot place',
    body({ meta_json: exampleMeta({ captured_at: '1969-07-20T20:17:40Z' }) }),
    ['/meta_json/captured_at: must not be before 1970-01-01T00:00:00Z'],
  ],
  ['not an object', 'hello', ['(root): must be object']],
  ['missing bucket', without('bucket'), ['/bucket: is required']],
  ['missing meta_json', without('meta_json'), ['/meta_json: is required']],
  ['missing objects', without('objects'), ['/objects: is required']],
  [
    'bad bucket name',
    body({ bucket: 'Bad_Bucket' }),
    ['/bucket: must be an S3 bucket name (3-63 of a-z 0-9 . -)'],
  ],
  ['ingest_key without trailing slash', body({ ingest_key: KEY.slice(0, -1) }), [`/ingest_key: ${KEY_HINT}`]],
  [
    'ingest_key as an s3:// URI',
    body({ ingest_key: `s3://cti-dev-406214277746/${KEY}` }),
    [`/ingest_key: ${KEY_HINT}`],
  ],
  ['ingest_key with ..', body({ ingest_key: 'raw/dev-0001/2025/09/09/../' }), [`/ingest_key: ${KEY_HINT}`]],
  ['ingest_key pointing at a file', body({ ingest_key: `${KEY}meta.json` }), [`/ingest_key: ${KEY_HINT}`]],
  [
    'ingest_key with month 13',
    body({ ingest_key: 'raw/dev-0001/2025/13/09/cap_1757423584/' }),
    [
      '/ingest_key: must be a valid raw capture directory (invalid date parts 2025/13/09: expected a real YYYY/MM/DD)',
    ],
  ],
  [
    'ingest_key date differs from captured_at',
    body({ ingest_key: 'raw/dev-0001/2025/09/10/cap_1757423584/' }),
    [`/ingest_key: must be "${KEY}" (meta_json's device_code, captured_at UTC date and capture_id)`],
  ],
  [
    'ingest_key capture differs from meta',
    body({ ingest_key: 'raw/dev-0001/2025/09/09/cap_other/' }),
    [`/ingest_key: must be "${KEY}" (meta_json's device_code, captured_at UTC date and capture_id)`],
  ],
  [
    'device_code differs from ingest_key',
    body({ device_code: 'dev-0002' }),
    [
      '/device_code: must equal the device_code in ingest_key ("dev-0001")',
      '/meta_json/device_code: must equal device_code ("dev-0002")',
    ],
  ],
  [
    'meta_json device differs',
    exampleWebhookBody({
      ingest_key: KEY,
      device_code: 'dev-0001',
      meta_json: exampleMeta({ device_code: 'dev-0002' }),
    }),
    [
      '/meta_json/device_code: must equal device_code ("dev-0001")',
      '/ingest_key: must be "raw/dev-0002/2025/09/09/cap_1757423584/" (meta_json\'s device_code, captured_at UTC date and capture_id)',
    ],
  ],
  [
    'objects without meta.json',
    body({ objects: ['image.jpg'] }),
    ['/objects: must be a list that includes "meta.json"'],
  ],
  [
    'objects empty',
    body({ objects: [] }),
    ['/objects: must have at least 1 item', '/objects: must be a list that includes "meta.json"'],
  ],
  [
    'object with a path',
    body({ objects: ['sub/image.jpg', 'image.jpg', 'meta.json'] }),
    [`/objects/0: ${NAME_HINT}`],
  ],
  [
    'object listed twice',
    body({ objects: ['image.jpg', 'meta.json', 'image.jpg'] }),
    ['/objects: must not contain duplicates (items 0 and 2 are equal)'],
  ],
  [
    'image missing from objects',
    body({ objects: ['meta.json'] }),
    ['/objects: must include "image.jpg" (meta_json.files.image_relpath)'],
  ],
  [
    'invalid meta_json inside',
    body({ meta_json: exampleMeta({ gps: { lat: 100, lon: 0 } }) }),
    ['/meta_json/gps/lat: must be <= 90'],
  ],
  [
    'meta_json of major 2',
    body({ meta_json: exampleMeta({ meta_version: '2.1.0' }) }),
    ['/meta_json/meta_version: unsupported major version 2 (this build reads 1.x)'],
  ],
  [
    'meta_json semantic problem',
    body({ meta_json: exampleMeta({ mask_sha256: EXAMPLE_MASK_SHA256 }) }),
    ['/meta_json/mask_sha256: must be null when files.mask_relpath is null'],
  ],
  [
    'meta_json not an object',
    body({ meta_json: 'meta' as unknown as MetaJson }),
    ['/meta_json: must be object'],
  ],
  [
    'envelope and meta problems together',
    body({ bucket: 'x', meta_json: exampleMeta({ capture_id: 'nope' }) }),
    [
      '/bucket: must be an S3 bucket name (3-63 of a-z 0-9 . -)',
      '/meta_json/capture_id: must be a capture id: "cap_" then 1-96 of A-Z a-z 0-9 _ -',
    ],
  ],
  [
    'object_details names an unlisted object',
    details([{ ...imageDetail, name: 'other.png' }]),
    ['/object_details/0/name: must be one of objects ("other.png" is not listed)'],
  ],
  [
    'object_details negative size',
    details([{ ...imageDetail, size_bytes: -1 }]),
    ['/object_details/0/size_bytes: must be >= 0'],
  ],
  [
    'object_details size beyond an exact integer (assets.size_bytes is a bigint)',
    details([{ ...imageDetail, size_bytes: 1e20 }]),
    ['/object_details/0/size_bytes: must be <= 9007199254740991'],
  ],
  [
    'meta_size_bytes beyond an exact integer',
    body({ meta_size_bytes: 1e300 }),
    ['/meta_size_bytes: must be <= 9007199254740991'],
  ],
  [
    'object_details missing sha256',
    details([{ name: 'image.jpg', size_bytes: 1 }]),
    ['/object_details/0/sha256: is required'],
  ],
  [
    'object_details image hash disagrees with meta',
    details([{ ...imageDetail, sha256: 'b'.repeat(64) }]),
    [`/object_details/0/sha256: must equal meta_json.image_sha256 (${EXAMPLE_IMAGE_SHA256})`],
  ],
  [
    'object_details duplicate',
    details([imageDetail, imageDetail]),
    ['/object_details/1/name: duplicates an earlier entry for "image.jpg"'],
  ],
  [
    'meta_sha256 uppercase',
    body({ meta_sha256: META_SHA.toUpperCase() }),
    ['/meta_sha256: must be a sha256 digest: 64 lowercase hex characters'],
  ],
  [
    'meta_sha256 disagrees with object_details',
    details([{ ...metaDetail, sha256: 'c'.repeat(64) }], { meta_sha256: META_SHA }),
    [`/object_details/0/sha256: must equal meta_sha256 (${META_SHA})`],
  ],
  [
    'meta_size_bytes disagrees with object_details',
    details([metaDetail], { meta_size_bytes: 999 }),
    ['/object_details/0/size_bytes: must equal meta_size_bytes (999)'],
  ],
  [
    'relay without emitted_at',
    body({ relay: { source: 'lambda' } as WebhookBody['relay'] }),
    ['/relay/emitted_at: is required'],
  ],
  [
    'relay.emitted_at with an offset',
    body({ relay: { source: 'local', emitted_at: '2025-09-09T16:18:40+02:00' } }),
    ['/relay/emitted_at: must be an ISO-8601 UTC timestamp ending in Z, e.g. "2025-09-09T14:18:32Z"'],
  ],
];

describe('the largest capture meta.json v1 allows (image, mask, 64 extras) fits a webhook body', () => {
  // Longest names the pattern allows (128 characters), so the body is as large as it gets.
  const extras = (n: number) =>
    Array.from({ length: n }, (_, i) => `${`extra-${String(i).padStart(3, '0')}`.padEnd(124, 'x')}.bin`);
  const metaWith = (n: number) =>
    exampleMeta({
      mask_sha256: EXAMPLE_MASK_SHA256,
      files: { image_relpath: 'image.jpg', mask_relpath: 'mask.png', extra: extras(n) },
    });
  const bodyFor = (meta: MetaJson) => {
    const names = ['image.jpg', 'mask.png', ...(meta.files.extra ?? []), 'meta.json'];
    const hashes: Record<string, string> = {
      'image.jpg': EXAMPLE_IMAGE_SHA256,
      'mask.png': EXAMPLE_MASK_SHA256,
      'meta.json': META_SHA,
    };
    const object_details = names.map((name) => ({
      name,
      size_bytes: 4096,
      sha256: hashes[name] ?? 'a'.repeat(64),
    }));
    return exampleWebhookBody({ meta_json: meta, object_details });
  };

  test('the meta.json is valid with 64 extras and invalid with 65', () => {
    assert.equal(validateMeta(metaWith(MAX_EXTRA_FILES)).ok, true);
    const over = validateMeta(metaWith(MAX_EXTRA_FILES + 1));
    assert.equal(over.ok, false);
  });

  test('its body (67 objects and details) validates', () => {
    const body = bodyFor(metaWith(MAX_EXTRA_FILES));
    assert.equal(body.objects.length, MAX_CAPTURE_OBJECTS);
    assert.equal(body.object_details?.length, MAX_CAPTURE_OBJECTS);
    assert.deepEqual(problemLines(body), []);
  });

  test('one object more than a capture can name is refused, naming the limit', () => {
    const body = bodyFor(metaWith(MAX_EXTRA_FILES));
    const objects = [...body.objects, 'one-more.txt'];
    assert.deepEqual(problemLines({ ...body, objects }), ['/objects: must have at most 67 items']);
  });
});

describe('invalid webhook bodies are rejected with the specific problem', () => {
  for (const [name, doc, expected] of invalid) {
    test(name, () => assert.deepEqual(problemLines(doc), expected));
  }
});
