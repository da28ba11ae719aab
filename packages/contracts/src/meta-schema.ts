import {
  CAPTURE_ID_PATTERN,
  DEVICE_CODE_PATTERN,
  EID_PATTERN,
  FILE_NAME_PATTERN,
  IMAGE_FILE_PATTERN,
  MASK_FILE_PATTERN,
  META_VERSION_1_PATTERN,
  OPERATOR_ID_EXPECTED,
  OPERATOR_ID_PATTERN,
  SHA256_PATTERN,
  UTC_TIMESTAMP_PATTERN,
  UUID_PATTERN,
} from './patterns.ts';
import { PIXEL_ASPECT_RANGE } from './pixel-aspect.ts';

// `x-expected` is an annotation keyword registered with Ajv (see compile-validator.ts): it replaces
// Ajv's "must match pattern ^[0-9a-f]{64}$" with a sentence an operator can act on.

const sha256 = {
  type: 'string',
  pattern: SHA256_PATTERN,
  'x-expected': 'a sha256 digest: 64 lowercase hex characters',
} as const;

const nullableSha256 = { ...sha256, type: ['string', 'null'] } as const;

/** Shared by meta.json and the webhook body (relay.emitted_at). */
export const utcTimestampSchema = {
  type: 'string',
  format: 'date-time',
  pattern: UTC_TIMESTAMP_PATTERN,
  'x-expected': 'an ISO-8601 UTC timestamp ending in Z, e.g. "2025-09-09T14:18:32Z"',
} as const;

const fileName = {
  type: 'string',
  pattern: FILE_NAME_PATTERN,
  'x-expected': 'a plain file name inside the capture directory (letters, digits, . _ -; no slashes)',
} as const;

const label = { type: 'string', minLength: 1, maxLength: 128 } as const;

const gps = {
  type: ['object', 'null'],
  required: ['lat', 'lon'],
  properties: {
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lon: { type: 'number', minimum: -180, maximum: 180 },
    accuracy_m: { type: 'number', minimum: 0 },
    alt_m: { type: 'number' },
  },
} as const;

const inferenceSummary = {
  type: ['object', 'null'],
  properties: {
    // [x_min, y_min, x_max, y_max] in pixels of the stored image; ordering is checked in meta.ts.
    ribeye_bbox: {
      type: ['array', 'null'],
      items: { type: 'number', minimum: 0 },
      minItems: 4,
      maxItems: 4,
    },
    mask_iou_hint: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    model: {
      type: 'object',
      required: ['name', 'version'],
      properties: { name: label, version: label, sha256 },
    },
  },
} as const;

export { PIXEL_ASPECT_RANGE };

/**
 * `pixel_aspect`, defined here once (meta.json `acquisition.pixel_aspect`, agent config `probe.pixel_aspect`;
 * the server's calibrations use PIXEL_ASPECT_RANGE): a pixel's physical width ÷ its physical height. 1 is
 * square; a 4:3 picture captured at 720×480 (NTSC frame grabber) is 0.889, at 720×576 (PAL) 1.067. The
 * pixel spacing (`pixel_spacing_mm`) is the vertical, depth-axis one; the horizontal spacing is
 * pixel_spacing_mm × pixel_aspect.
 */
export const pixelAspectSchema = {
  type: 'number',
  minimum: PIXEL_ASPECT_RANGE[0],
  maximum: PIXEL_ASPECT_RANGE[1],
  description:
    "A pixel's physical width ÷ its physical height (1 = square; 720×480 capture of a 4:3 picture = 0.889); the horizontal spacing is pixel_spacing_mm × pixel_aspect.",
} as const;

const acquisition = {
  type: 'object',
  properties: {
    source: label,
    frame_seq: { type: 'integer', minimum: 0 },
    depth_cm: { type: 'number', exclusiveMinimum: 0 },
    // Millimetres per image pixel along the vertical (depth) axis when the agent knows it (probe config,
    // sidecar): the grading worker's first source of physical scale (cm², mm).
    pixel_spacing_mm: { type: 'number', exclusiveMinimum: 0, maximum: 10 },
    // Non-square pixels (frame grabbers, stretched exports): see pixelAspectSchema.
    pixel_aspect: pixelAspectSchema,
    gain_db: { type: 'number' },
    width_px: { type: 'integer', minimum: 1 },
    height_px: { type: 'integer', minimum: 1 },
    quality: { type: 'object', additionalProperties: { type: 'number' } },
  },
} as const;

// The animal at the chute: the electronic ear tag the agent read shortly before the press (additive).
const animal = {
  type: ['object', 'null'],
  required: ['eid', 'read_at'],
  properties: {
    eid: {
      type: 'string',
      pattern: EID_PATTERN,
      'x-expected': 'an ISO 11784 ear tag number: 15 digits, e.g. "982000123456789"',
    },
    read_at: utcTimestampSchema,
  },
} as const;

/**
 * JSON Schema (draft 2020-12) for a capture's meta.json, version 1.x (spec §5.2, §6, §9).
 * Objects are open: unknown properties are accepted within major version 1 (additive evolution).
 * Cross-field rules (bbox order, mask hash iff mask file) are enforced by `validateMeta`, not here.
 */
/** meta.json v1 `files.extra`: at most this many names. */
export const MAX_EXTRA_FILES = 64;

/**
 * A webhook body's `objects` / `object_details`: every file a valid meta.json can name (image, mask,
 * MAX_EXTRA_FILES extras) plus meta.json itself. The body allowed 64 in all, so a valid capture with
 * 62+ extra files could never be relayed (review r21 F6).
 */
export const MAX_CAPTURE_OBJECTS = MAX_EXTRA_FILES + 3;

export const metaSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://cti.example/schemas/meta-1.json',
  title: 'CTI capture meta.json, version 1.x',
  type: 'object',
  required: ['meta_version', 'device_code', 'capture_id', 'captured_at', 'image_sha256', 'files'],
  properties: {
    meta_version: {
      type: 'string',
      pattern: META_VERSION_1_PATTERN,
      'x-expected': 'a semantic version 1.x.y, e.g. "1.0.0"',
    },
    device_code: {
      type: 'string',
      pattern: DEVICE_CODE_PATTERN,
      'x-expected': 'a device code: 1-63 of a-z 0-9 _ -, starting with a letter or digit',
    },
    capture_id: {
      type: 'string',
      pattern: CAPTURE_ID_PATTERN,
      'x-expected': 'a capture id: "cap_" then 1-96 of A-Z a-z 0-9 _ -',
    },
    captured_at: utcTimestampSchema,
    // Not only spaces, as agent.json's operator_id: a blank operator is no operator (null says that).
    // The pattern also refuses '' (one problem, not two with minLength).
    operator_id: {
      type: ['string', 'null'],
      maxLength: 128,
      pattern: OPERATOR_ID_PATTERN,
      'x-expected': OPERATOR_ID_EXPECTED,
    },
    // The pattern as well as the format: ajv-formats' uuid also accepts a "urn:uuid:" prefix,
    // which Postgres' uuid type does not.
    farm_id: {
      type: ['string', 'null'],
      format: 'uuid',
      pattern: UUID_PATTERN,
      'x-expected': 'a farm uuid or null',
    },
    gps,
    probe: {
      type: ['object', 'null'],
      properties: { model: label, frequency_mhz: { type: 'number', exclusiveMinimum: 0 } },
    },
    firmware: {
      type: ['object', 'null'],
      properties: { pi_os: label, app_version: label },
    },
    image_sha256: sha256,
    mask_sha256: nullableSha256,
    files: {
      type: 'object',
      required: ['image_relpath'],
      properties: {
        image_relpath: {
          type: 'string',
          pattern: IMAGE_FILE_PATTERN,
          'x-expected': 'a plain file name ending in .png, .jpg or .jpeg (no slashes)',
        },
        mask_relpath: {
          type: ['string', 'null'],
          pattern: MASK_FILE_PATTERN,
          'x-expected': 'null or a plain file name ending in .png (no slashes)',
        },
        extra: { type: 'array', items: fileName, maxItems: MAX_EXTRA_FILES, uniqueItems: true },
      },
    },
    inference_summary: inferenceSummary,
    clock: {
      type: 'object',
      required: ['synced'],
      properties: { synced: { type: 'boolean' }, source: label },
    },
    acquisition,
    animal,
  },
} as const;
