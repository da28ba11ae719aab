import { MAX_CAPTURE_OBJECTS, utcTimestampSchema } from './meta-schema.ts';
import {
  BUCKET_PATTERN,
  DEVICE_CODE_PATTERN,
  FILE_NAME_PATTERN,
  INGEST_KEY_PATTERN,
  SHA256_PATTERN,
} from './patterns.ts';

const fileName = {
  type: 'string',
  pattern: FILE_NAME_PATTERN,
  'x-expected': 'a plain file name relative to ingest_key (letters, digits, . _ -; no slashes)',
} as const;

const sha256 = {
  type: 'string',
  pattern: SHA256_PATTERN,
  'x-expected': 'a sha256 digest: 64 lowercase hex characters',
} as const;

// assets.size_bytes is a bigint; above 2^53 - 1 a JSON number is no longer an exact integer, and a
// bigger one (1e20) would fail the insert as a 500 instead of a 422 naming the field.
const sizeBytes = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
} as const;

const objectDetail = {
  type: 'object',
  required: ['name', 'size_bytes', 'sha256'],
  properties: {
    name: fileName,
    size_bytes: sizeBytes,
    sha256: {
      ...sha256,
      type: ['string', 'null'],
      'x-expected': 'null or a sha256 digest: 64 lowercase hex characters',
    },
  },
} as const;

/**
 * JSON Schema (draft 2020-12) for the relay → server webhook body (spec §5.3) plus the additive
 * optional fields `object_details`, `meta_sha256`, `meta_size_bytes` and `relay`. `meta_json` refers
 * to meta.json's schema by `$id`; cross-field agreement (ingest_key vs meta_json, objects vs files)
 * is enforced by `validateWebhookBody`. Unknown properties are accepted (additive evolution).
 */
export const webhookBodySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://cti.example/schemas/webhook-body-1.json',
  title: 'CTI ingest webhook body (relay → server)',
  type: 'object',
  required: ['bucket', 'ingest_key', 'device_code', 'objects', 'meta_json'],
  properties: {
    bucket: {
      type: 'string',
      pattern: BUCKET_PATTERN,
      'x-expected': 'an S3 bucket name (3-63 of a-z 0-9 . -)',
    },
    ingest_key: {
      type: 'string',
      pattern: INGEST_KEY_PATTERN,
      'x-expected':
        'a raw capture directory "raw/{device_code}/{YYYY}/{MM}/{DD}/{capture_id}/" ending in "/"',
    },
    device_code: {
      type: 'string',
      pattern: DEVICE_CODE_PATTERN,
      'x-expected': 'a device code: 1-63 of a-z 0-9 _ -, starting with a letter or digit',
    },
    objects: {
      type: 'array',
      items: fileName,
      minItems: 1,
      maxItems: MAX_CAPTURE_OBJECTS,
      uniqueItems: true,
      contains: { const: 'meta.json' },
      'x-expected': 'a list that includes "meta.json"',
    },
    meta_json: { $ref: 'https://cti.example/schemas/meta-1.json' },
    object_details: { type: 'array', items: objectDetail, maxItems: MAX_CAPTURE_OBJECTS },
    meta_sha256: sha256,
    meta_size_bytes: sizeBytes,
    relay: {
      type: 'object',
      required: ['source', 'emitted_at'],
      properties: {
        source: { type: 'string', minLength: 1, maxLength: 64 },
        event_id: { type: 'string', minLength: 1, maxLength: 256 },
        emitted_at: utcTimestampSchema,
      },
    },
  },
} as const;
