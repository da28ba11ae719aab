import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatProblem, META_VERSION, type MetaJson, validateMeta } from './index.ts';
import { EXAMPLE_MASK_SHA256, exampleMeta } from './testing.ts';

type Doc = Record<string, unknown> & MetaJson;
const withMask = {
  files: { image_relpath: 'image.png', mask_relpath: 'mask.png' },
  mask_sha256: EXAMPLE_MASK_SHA256,
};

function problemLines(data: unknown): string[] {
  const result = validateMeta(data);
  return result.ok ? [] : result.problems.map(formatProblem);
}

function without(key: string): Doc {
  const doc: Record<string, unknown> = exampleMeta();
  delete doc[key];
  return doc as Doc;
}

describe('valid meta.json documents', () => {
  const valid: [string, unknown][] = [
    ['the spec example (§5.2, real hashes)', exampleMeta()],
    [
      'only the required fields',
      {
        ...pick(exampleMeta(), ['meta_version', 'device_code', 'capture_id', 'captured_at', 'image_sha256']),
        files: { image_relpath: 'image.png' },
      },
    ],
    ['a mask with its hash', exampleMeta(withMask)],
    [
      'gps, probe, firmware, inference_summary null',
      exampleMeta({ gps: null, probe: null, firmware: null, inference_summary: null }),
    ],
    [
      'a newer minor version (additive fields)',
      exampleMeta({ meta_version: '1.4.2', new_field: { any: 'thing' } }),
    ],
    ['fractional seconds in captured_at', exampleMeta({ captured_at: '2025-09-09T14:18:32.123Z' })],
    ['a farm uuid', exampleMeta({ farm_id: '6f1c2a9e-3b7d-4c8e-9a0f-1b2c3d4e5f60' })],
    [
      'the animal read at the chute (additive)',
      exampleMeta({ animal: { eid: '982000123456789', read_at: '2025-09-09T14:17:50.120Z' } }),
    ],
    ['animal null (no tag read)', exampleMeta({ animal: null })],
    [
      'declared additive fields',
      exampleMeta({
        clock: { synced: false, source: 'fake-hwclock' },
        acquisition: {
          source: 'serial',
          frame_seq: 4711,
          depth_cm: 18,
          pixel_spacing_mm: 0.296,
          pixel_aspect: 0.889,
          gain_db: 42.5,
          width_px: 640,
          height_px: 480,
          quality: { sharpness: 0.8, contrast: 0.6 },
        },
        gps: { lat: -90, lon: 180, accuracy_m: 3.5, alt_m: -12 },
        inference_summary: {
          ribeye_bbox: [0, 0, 1.5, 2.5],
          mask_iou_hint: null,
          model: { name: 'ribeye-bbox', version: '1.0.0' },
        },
      }),
    ],
    [
      'extra files',
      exampleMeta({
        files: {
          image_relpath: 'image.jpeg',
          mask_relpath: null,
          extra: ['frames.json', 'raw_frame-01.bmp'],
        },
      }),
    ],
  ];
  for (const [name, doc] of valid) {
    test(name, () => assert.deepEqual(problemLines(doc), []));
  }

  test('a NUL check cannot overflow the stack: 100 000 nested arrays in an unknown property', () => {
    const doc = {
      ...exampleMeta(),
      deep: JSON.parse(`${'['.repeat(100_000)}"\\u0000"${']'.repeat(100_000)}`),
    };
    const lines = problemLines(doc);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^\/deep(\/0){100000}: must not contain the NUL character/);
  });

  test('the value is returned as given (no defaults injected)', () => {
    const doc = exampleMeta();
    const result = validateMeta(doc);
    assert.ok(result.ok);
    assert.equal(result.value, doc);
    assert.equal(META_VERSION, '1.0.0');
  });
});

function pick(doc: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, doc[k]]));
}

const sha = (c: string) => c.repeat(64);
const bbox = (b: number[]) => exampleMeta({ inference_summary: { ribeye_bbox: b, mask_iou_hint: 0.5 } });
const files = (f: Record<string, unknown>) =>
  exampleMeta({ files: { image_relpath: 'image.jpg', ...f } as MetaJson['files'] });
const SHA_HINT = 'must be a sha256 digest: 64 lowercase hex characters';
const TIME_HINT = 'must be an ISO-8601 UTC timestamp ending in Z, e.g. "2025-09-09T14:18:32Z"';
const DEVICE_HINT = 'must be a device code: 1-63 of a-z 0-9 _ -, starting with a letter or digit';
const CAPTURE_HINT = 'must be a capture id: "cap_" then 1-96 of A-Z a-z 0-9 _ -';
const NUL_HINT = 'must not contain the NUL character (U+0000)';
const IMAGE_HINT = 'must be a plain file name ending in .png, .jpg or .jpeg (no slashes)';

// Each row: a document and EXACTLY the problem lines it must produce.
const invalid: [string, unknown, string[]][] = [
  [
    'captured_at a leap second',
    exampleMeta({ captured_at: '2016-12-31T23:59:60Z' }),
    ['/captured_at: must be a representable UTC time (leap second :60 is not accepted)'],
  ],
  [
    'captured_at before 1970',
    exampleMeta({ captured_at: '1969-12-31T23:59:59Z' }),
    ['/captured_at: must not be before 1970-01-01T00:00:00Z'],
  ],
  [
    'captured_at hour 24',
    exampleMeta({ captured_at: '2025-09-09T24:00:00Z' }),
    [`/captured_at: ${TIME_HINT}`],
  ],
  [
    'farm_id as a urn',
    exampleMeta({ farm_id: 'urn:uuid:6f1c2a9e-3b7d-4c8e-9a0f-1b2c3d4e5f60' }),
    ['/farm_id: must be a farm uuid or null'],
  ],
  ['not an object', [], ['(root): must be object']],
  ['null', null, ['(root): must be object']],
  ['missing captured_at', without('captured_at'), ['/captured_at: is required']],
  ['missing meta_version', without('meta_version'), ['/meta_version: is required']],
  ['missing device_code', without('device_code'), ['/device_code: is required']],
  ['missing capture_id', without('capture_id'), ['/capture_id: is required']],
  ['missing image_sha256', without('image_sha256'), ['/image_sha256: is required']],
  ['missing files', without('files'), ['/files: is required']],
  [
    'files without image_relpath',
    exampleMeta({ files: {} as MetaJson['files'] }),
    ['/files/image_relpath: is required'],
  ],
  [
    'major version 2',
    exampleMeta({ meta_version: '2.0.0' }),
    ['/meta_version: unsupported major version 2 (this build reads 1.x)'],
  ],
  [
    'major version 0',
    exampleMeta({ meta_version: '0.9.0' }),
    ['/meta_version: unsupported major version 0 (this build reads 1.x)'],
  ],
  [
    'meta_version not semver',
    exampleMeta({ meta_version: '1.0' }),
    ['/meta_version: must be a semantic version 1.x.y, e.g. "1.0.0"'],
  ],
  [
    'meta_version a number',
    exampleMeta({ meta_version: 1 as unknown as string }),
    ['/meta_version: must be string'],
  ],
  [
    'device_code with a space and capitals',
    exampleMeta({ device_code: 'Dev 01' }),
    [`/device_code: ${DEVICE_HINT}`],
  ],
  ['device_code escaping with ..', exampleMeta({ device_code: '../etc' }), [`/device_code: ${DEVICE_HINT}`]],
  [
    'capture_id without cap_ prefix',
    exampleMeta({ capture_id: '1757423584' }),
    [`/capture_id: ${CAPTURE_HINT}`],
  ],
  ['capture_id with a slash', exampleMeta({ capture_id: 'cap_a/b' }), [`/capture_id: ${CAPTURE_HINT}`]],
  [
    'captured_at with an offset',
    exampleMeta({ captured_at: '2025-09-09T14:18:32+02:00' }),
    [`/captured_at: ${TIME_HINT}`],
  ],
  [
    'captured_at with a space',
    exampleMeta({ captured_at: '2025-09-09 14:18:32Z' }),
    [`/captured_at: ${TIME_HINT}`],
  ],
  [
    'captured_at on Feb 30',
    exampleMeta({ captured_at: '2025-02-30T00:00:00Z' }),
    [`/captured_at: ${TIME_HINT}`],
  ],
  [
    'captured_at unix seconds',
    exampleMeta({ captured_at: 1757427512 as unknown as string }),
    ['/captured_at: must be string'],
  ],
  ['gps.lat > 90', exampleMeta({ gps: { lat: 91, lon: 0 } }), ['/gps/lat: must be <= 90']],
  [
    'animal.eid with a space after the country code (the agent normalises it)',
    exampleMeta({ animal: { eid: '982 000123456789', read_at: '2025-09-09T14:17:50Z' } }),
    ['/animal/eid: must be an ISO 11784 ear tag number: 15 digits, e.g. "982000123456789"'],
  ],
  [
    'animal.eid of 14 digits',
    exampleMeta({ animal: { eid: '98200012345678', read_at: '2025-09-09T14:17:50Z' } }),
    ['/animal/eid: must be an ISO 11784 ear tag number: 15 digits, e.g. "982000123456789"'],
  ],
  [
    'animal without read_at',
    exampleMeta({ animal: { eid: '982000123456789' } as MetaJson['animal'] }),
    ['/animal/read_at: is required'],
  ],
  ['gps.lon < -180', exampleMeta({ gps: { lat: 0, lon: -181 } }), ['/gps/lon: must be >= -180']],
  ['gps without lon', exampleMeta({ gps: { lat: 1 } as MetaJson['gps'] }), ['/gps/lon: is required']],
  [
    'gps.lat a string',
    exampleMeta({ gps: { lat: '43.6' as unknown as number, lon: 0 } }),
    ['/gps/lat: must be number'],
  ],
  [
    'gps an array',
    exampleMeta({ gps: [43.6, -79.3] as unknown as MetaJson['gps'] }),
    ['/gps: must be object or null'],
  ],
  [
    'gps.accuracy_m negative',
    exampleMeta({ gps: { lat: 0, lon: 0, accuracy_m: -1 } }),
    ['/gps/accuracy_m: must be >= 0'],
  ],
  [
    'acquisition.pixel_spacing_mm zero',
    exampleMeta({ acquisition: { pixel_spacing_mm: 0 } }),
    ['/acquisition/pixel_spacing_mm: must be > 0'],
  ],
  [
    'acquisition.pixel_spacing_mm in cm by mistake (> 10 mm per pixel)',
    exampleMeta({ acquisition: { pixel_spacing_mm: 29.6 } }),
    ['/acquisition/pixel_spacing_mm: must be <= 10'],
  ],
  [
    'acquisition.pixel_aspect under 0.5 (no scanner squeezes pixels that far)',
    exampleMeta({ acquisition: { pixel_aspect: 0.3 } }),
    ['/acquisition/pixel_aspect: must be >= 0.5'],
  ],
  [
    'acquisition.pixel_aspect over 2 (a spacing ratio typed in by mistake)',
    exampleMeta({ acquisition: { pixel_aspect: 7.1 } }),
    ['/acquisition/pixel_aspect: must be <= 2'],
  ],
  [
    'acquisition.pixel_aspect a string',
    exampleMeta({ acquisition: { pixel_aspect: '8:9' as unknown as number } }),
    ['/acquisition/pixel_aspect: must be number'],
  ],
  ['image_sha256 uppercase', exampleMeta({ image_sha256: sha('A') }), [`/image_sha256: ${SHA_HINT}`]],
  ['image_sha256 63 chars', exampleMeta({ image_sha256: sha('a').slice(1) }), [`/image_sha256: ${SHA_HINT}`]],
  [
    'mask hash without mask file',
    exampleMeta({ mask_sha256: EXAMPLE_MASK_SHA256 }),
    ['/mask_sha256: must be null when files.mask_relpath is null'],
  ],
  [
    'mask file without mask hash',
    exampleMeta({ ...withMask, mask_sha256: null }),
    ['/mask_sha256: must be a sha256 digest when files.mask_relpath is set'],
  ],
  [
    'image_relpath escaping',
    files({ image_relpath: '../image.jpg' }),
    [`/files/image_relpath: ${IMAGE_HINT}`],
  ],
  [
    'image_relpath in a subdirectory',
    files({ image_relpath: 'sub/image.jpg' }),
    [`/files/image_relpath: ${IMAGE_HINT}`],
  ],
  [
    'image_relpath not an image',
    files({ image_relpath: 'image.gif' }),
    [`/files/image_relpath: ${IMAGE_HINT}`],
  ],
  [
    'mask_relpath a jpeg',
    exampleMeta({ ...withMask, files: { image_relpath: 'image.jpg', mask_relpath: 'mask.jpg' } }),
    ['/files/mask_relpath: must be null or a plain file name ending in .png (no slashes)'],
  ],
  [
    'mask and image the same file',
    exampleMeta({ ...withMask, files: { image_relpath: 'x.png', mask_relpath: 'x.png' } }),
    ['/files/mask_relpath: must differ from files.image_relpath'],
  ],
  [
    'extra file twice',
    files({ extra: ['a.json', 'a.json'] }),
    ['/files/extra: must not contain duplicates (items 0 and 1 are equal)'],
  ],
  [
    'extra file ..',
    files({ extra: ['..'] }),
    [
      '/files/extra/0: must be a plain file name inside the capture directory (letters, digits, . _ -; no slashes)',
    ],
  ],
  [
    'extra repeats the image',
    files({ extra: ['image.jpg'] }),
    ['/files/extra/0: must not repeat "image.jpg"'],
  ],
  [
    'bbox x_min >= x_max',
    bbox([420, 88, 120, 300]),
    ['/inference_summary/ribeye_bbox/2: x_max must be > x_min (420)'],
  ],
  [
    'bbox y_min >= y_max',
    bbox([120, 300, 420, 300]),
    ['/inference_summary/ribeye_bbox/3: y_max must be > y_min (300)'],
  ],
  ['bbox with 3 numbers', bbox([1, 2, 3]), ['/inference_summary/ribeye_bbox: must have at least 4 items']],
  ['bbox negative', bbox([-1, 2, 3, 4]), ['/inference_summary/ribeye_bbox/0: must be >= 0']],
  [
    'mask_iou_hint > 1',
    exampleMeta({ inference_summary: { ribeye_bbox: null, mask_iou_hint: 1.2 } }),
    ['/inference_summary/mask_iou_hint: must be <= 1'],
  ],
  ['farm_id not a uuid', exampleMeta({ farm_id: 'farm-1' }), ['/farm_id: must be a farm uuid or null']],
  [
    'operator_id empty',
    exampleMeta({ operator_id: '' }),
    ['/operator_id: must be an operator id: 1-128 characters, not only spaces'],
  ],
  [
    'operator_id only spaces',
    exampleMeta({ operator_id: ' \t ' }),
    ['/operator_id: must be an operator id: 1-128 characters, not only spaces'],
  ],
  [
    'probe frequency 0',
    exampleMeta({ probe: { model: 'x', frequency_mhz: 0 } }),
    ['/probe/frequency_mhz: must be > 0'],
  ],
  ['clock without synced', exampleMeta({ clock: {} as MetaJson['clock'] }), ['/clock/synced: is required']],
  [
    'clock.synced a string',
    exampleMeta({ clock: { synced: 'yes' as unknown as boolean } }),
    ['/clock/synced: must be boolean'],
  ],
  [
    'acquisition.frame_seq fractional',
    exampleMeta({ acquisition: { frame_seq: 1.5 } }),
    ['/acquisition/frame_seq: must be integer'],
  ],
  [
    'acquisition.quality not numbers',
    exampleMeta({ acquisition: { quality: { sharpness: 'high' as unknown as number } } }),
    ['/acquisition/quality/sharpness: must be number'],
  ],
  [
    'inference model hash bad',
    exampleMeta({ inference_summary: { model: { name: 'm', version: '1', sha256: 'd9c4' } } }),
    [`/inference_summary/model/sha256: ${SHA_HINT}`],
  ],
  [
    'several problems at once',
    exampleMeta({ gps: { lat: 100, lon: 200 }, image_sha256: 'x' }),
    ['/gps/lat: must be <= 90', '/gps/lon: must be <= 180', `/image_sha256: ${SHA_HINT}`],
  ],
  // Postgres cannot store U+0000: the server refuses it, so the agent and relay must too.
  ['NUL in operator_id', exampleMeta({ operator_id: 'op\u00001' }), [`/operator_id: ${NUL_HINT}`]],
  [
    'NUL in a nested known string',
    exampleMeta({ probe: { model: 'L7\u0000' } }),
    [`/probe/model: ${NUL_HINT}`],
  ],
  [
    'NUL in an unknown property, at any depth, escaped in the pointer',
    exampleMeta({ 'x/y': [{ note: 'a\u0000b' }] } as Partial<MetaJson>),
    [`/x~1y/0/note: ${NUL_HINT}`],
  ],
  [
    'NUL in a property name',
    exampleMeta({ extra: { 'k\u0000': 1 } } as Partial<MetaJson>),
    ['/extra: property names must not contain U+0000'],
  ],
  [
    'NUL alongside a schema problem: both reported',
    exampleMeta({ operator_id: '\u0000', gps: { lat: 100, lon: 0 } }),
    ['/gps/lat: must be <= 90', `/operator_id: ${NUL_HINT}`],
  ],
];

describe('invalid meta.json documents are rejected with the specific problem', () => {
  for (const [name, doc, expected] of invalid) {
    test(name, () => assert.deepEqual(problemLines(doc), expected));
  }
});
