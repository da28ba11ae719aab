import { pixelAspectSchema } from './meta-schema.ts';
import {
  BUCKET_PATTERN,
  DEVICE_CODE_PATTERN,
  OPERATOR_ID_EXPECTED,
  OPERATOR_ID_PATTERN,
  REGION_EXPECTED,
  REGION_PATTERN,
} from './patterns.ts';

// The capture agent's config file (/etc/cti/agent.json), owned by the agent (apps/agent/src/config).
// Closed objects (additionalProperties false): a misspelt key on a Pi in a
// barn must fail at start-up with its pointer, not be silently ignored. Defaults are applied by the
// agent after validation and documented in docs/agent.md.

const ms = { type: 'integer', minimum: 0, maximum: 3_600_000 } as const;
const bcm = { type: 'integer', minimum: 0, maximum: 63, 'x-expected': 'a BCM GPIO number (0-63)' } as const;
// Absolute: a relative data_dir (or device, folder, secret file) resolved against the working directory,
// which is `/` under systemd, and the agent then wrote its outbox there (review r20 F8).
const ABSOLUTE_PATH = { pattern: '^/', 'x-expected': 'an absolute path (starting with /)' } as const;
const path = { type: 'string', minLength: 1, ...ABSOLUTE_PATH } as const;
const fraction = { type: 'number', minimum: 0, maximum: 1 } as const;

const kindIs = (kind: string) => ({ properties: { kind: { const: kind } }, required: ['kind'] }) as const;
// Ajv's strictRequired wants each required key declared beside it; `true` defers to the outer schema.
const requiredWhen = (kind: string, required: string[]) =>
  ({
    if: kindIs(kind),
    // biome-ignore lint/suspicious/noThenProperty: the JSON Schema if/then keyword, not a thenable
    then: { required, properties: Object.fromEntries(required.map((k) => [k, true])) },
  }) as const;

// Each tagged object lists every key of every kind at one level with `additionalProperties: false`
// and makes the kind's keys required through if/then: errors then name only the offending key
// (failed if/then branches do not leak "is not an allowed property" noise as unevaluatedProperties would).
const source = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  properties: {
    kind: { enum: ['serial', 'folder', 'simulated'] },
    path,
    baud_rate: { type: 'integer', minimum: 1200 },
    reconnect_cap_ms: ms,
    dir: path,
    stable_ms: ms,
    fps: { type: 'number', exclusiveMinimum: 0, maximum: 120 },
    width: { type: 'integer', minimum: 16, maximum: 4096 },
    height: { type: 'integer', minimum: 16, maximum: 4096 },
    pattern: { enum: ['phantom', 'synthetic'] },
  },
  allOf: [requiredWhen('serial', ['path']), requiredWhen('folder', ['dir'])],
} as const;

const trigger = {
  type: 'object',
  required: ['kind'],
  additionalProperties: false,
  properties: {
    kind: { enum: ['gpio', 'none'] },
    bcm,
    active_low: { type: 'boolean' },
    debounce_ms: ms,
    lockout_ms: ms,
    long_press_ms: ms,
    mode: { enum: ['auto', 'interrupt', 'poll'] },
  },
  allOf: [requiredWhen('gpio', ['bcm'])],
} as const;

const gps = {
  type: ['object', 'null'],
  required: ['kind'],
  additionalProperties: false,
  properties: {
    kind: { enum: ['fixed', 'nmea'] },
    lat: { type: 'number', minimum: -90, maximum: 90 },
    lon: { type: 'number', minimum: -180, maximum: 180 },
    path,
    baud_rate: { type: 'integer', minimum: 1200 },
    max_age_s: { type: 'number', minimum: 1 },
  },
  allOf: [requiredWhen('fixed', ['lat', 'lon']), requiredWhen('nmea', ['path'])],
} as const;

const output = {
  type: ['object', 'null'],
  required: ['bcm'],
  properties: { bcm },
  additionalProperties: false,
} as const;

// Heartbeat to the server (apps/agent/src/heartbeat). The device secret is never in this file: it is
// read from `secret_file`, by default systemd's credential ($CREDENTIALS_DIRECTORY/device-secret,
// loaded from the root-only /etc/cti/device-secret), else /etc/cti/device-secret itself.
const heartbeat = {
  type: ['object', 'null'],
  required: ['server_url'],
  additionalProperties: false,
  properties: {
    server_url: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      'x-expected': 'the server base URL, http(s)://host[:port][/prefix]',
    },
    // Default 60. Seconds-long intervals are for tests and demos; the server's silence threshold
    // (CTI_DEVICE_SILENT_AFTER_S) must stay well above the interval.
    interval_s: { type: 'integer', minimum: 1, maximum: 3600 },
    timeout_s: { type: 'integer', minimum: 1, maximum: 120 },
    secret_file: { type: ['string', 'null'], minLength: 1, ...ABSOLUTE_PATH },
  },
} as const;

// Electronic ear-tag reader on a serial line (apps/agent/src/eid): one ASCII line per read.
const eidReader = {
  type: ['object', 'null'],
  required: ['path'],
  additionalProperties: false,
  properties: {
    path,
    baud_rate: { type: 'integer', minimum: 1200 },
    // A regular expression finding the tag in a line; its capture groups, joined, are the 15 digits.
    pattern: { type: ['string', 'null'], minLength: 1, maxLength: 500 },
    window_s: { type: 'integer', minimum: 1, maximum: 3600 },
  },
} as const;

/**
 * JSON Schema (draft 2020-12) of the capture agent's config file. Validate with
 * `compileValidator<AgentConfigFile>(agentConfigSchema)`.
 *
 * @example
 * { "device_code": "dev-0001", "source": { "kind": "serial", "path": "/dev/cti-probe" },
 *   "trigger": { "kind": "gpio", "bcm": 17 }, "upload": { "bucket": "cti-dev-406214277746" } }
 */
export const agentConfigSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://cti.example/schemas/agent-config-1.json',
  title: 'CTI capture agent config',
  type: 'object',
  required: ['device_code', 'source', 'upload'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    device_code: {
      type: 'string',
      pattern: DEVICE_CODE_PATTERN,
      'x-expected': 'a device code: 1-63 of a-z 0-9 _ -, starting with a letter or digit',
    },
    // Not only spaces: a blank operator on every capture is no operator at all (meta.json: 1-128 chars).
    operator_id: {
      type: ['string', 'null'],
      minLength: 1,
      maxLength: 128,
      pattern: OPERATOR_ID_PATTERN,
      'x-expected': OPERATOR_ID_EXPECTED,
    },
    farm_id: { type: ['string', 'null'], format: 'uuid', 'x-expected': 'a farm uuid or null' },
    data_dir: path,
    source,
    probe: {
      type: ['object', 'null'],
      required: ['model'],
      additionalProperties: false,
      properties: {
        model: { type: 'string', minLength: 1, maxLength: 128 },
        frequency_mhz: { type: 'number', exclusiveMinimum: 0 },
        // mm per image pixel for this probe at its depth setting: written to meta.json
        // (acquisition.pixel_spacing_mm) so grading can give cm² and mm.
        pixel_spacing_mm: { type: 'number', exclusiveMinimum: 0, maximum: 10 },
        // The capture chain's pixel aspect (meta-schema.ts pixelAspectSchema), written to meta.json
        // (acquisition.pixel_aspect): a frame grabber's 720×480 of a 4:3 picture is 0.889.
        pixel_aspect: pixelAspectSchema,
      },
    },
    trigger,
    gpio_chip_label: { type: ['string', 'null'], minLength: 1 },
    sysfs_root: path,
    led: output,
    buzzer: output,
    capture: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ring_ms: { type: 'integer', minimum: 100, maximum: 30_000 },
        window_before_ms: ms,
        window_after_ms: { type: 'integer', minimum: 0, maximum: 1000 },
        format: { enum: ['png', 'jpeg'] },
        jpeg_quality: { type: 'integer', minimum: 50, maximum: 100 },
        // Presses (button or local API) waiting or running at once; more are refused (HTTP 429).
        max_pending: { type: 'integer', minimum: 1, maximum: 100 },
        quality_gate: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            min_mean_intensity: { type: 'number', minimum: 0, maximum: 255 },
            max_dark_fraction: fraction,
            max_saturated_fraction: fraction,
            min_contrast: { type: 'number', minimum: 0 },
            frozen_max_difference: { type: 'number', minimum: 0 },
            // Refuse captures whose view verdict (ribeye_view, 0–1) is below this; null = the view card's threshold.
            min_ribeye_view: { type: ['number', 'null'], minimum: 0, maximum: 1 },
          },
        },
      },
    },
    gps,
    hint: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        model_path: { type: ['string', 'null'], minLength: 1, ...ABSOLUTE_PATH },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    upload: {
      type: 'object',
      required: ['bucket'],
      additionalProperties: false,
      properties: {
        bucket: { type: 'string', pattern: BUCKET_PATTERN, 'x-expected': 'an S3 bucket name' },
        region: { type: 'string', pattern: REGION_PATTERN, 'x-expected': REGION_EXPECTED },
        // A URI with a scheme, a host and a port: `localhost:8722` is a valid URI (scheme `localhost`), so
        // `minio:9000` in agent.env passed and every upload then failed locally, for ever (review r20 F4).
        endpoint: {
          type: ['string', 'null'],
          format: 'uri',
          pattern: '^https?://[^/?#]',
          'x-expected': 'an http(s) URL, e.g. http://minio.local:9000',
        },
        force_path_style: { type: 'boolean' },
        concurrency: { type: 'integer', minimum: 1, maximum: 16 },
        // S3's smallest multipart part is 5 MiB; below the threshold an object is one PUT.
        multipart_threshold_mb: { type: 'integer', minimum: 5, maximum: 5120 },
        enabled: { type: 'boolean' },
      },
    },
    outbox: {
      type: 'object',
      additionalProperties: false,
      properties: {
        min_free_mb: { type: 'integer', minimum: 0 },
        // null keeps uploaded captures' files until an operator removes them.
        retention_days: { type: ['number', 'null'], minimum: 0 },
      },
    },
    watchdog: {
      type: 'object',
      additionalProperties: false,
      properties: { max_frame_gap_ms: { type: 'integer', minimum: 100 } },
    },
    heartbeat,
    eid_reader: eidReader,
  },
} as const;
