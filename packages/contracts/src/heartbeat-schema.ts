import { utcTimestampSchema } from './meta-schema.ts';
import { DEVICE_CODE_PATTERN } from './patterns.ts';

// The body of POST /devices/heartbeat: what a capture agent says about itself every minute. Objects are
// open like meta.json's (an agent updated before the server must not be refused); the server stores
// the declared fields (withoutUnknownFields) beside the columns it reads. Figures an agent cannot know are null, never guessed.

// Upper bounds are what the server's columns hold (int, bigint, real): beyond them a heartbeat was a
// 500 at insert instead of a 422 naming the field. Counts and ages are int columns, bytes and uptimes
// bigint (exact in JSON up to 2^53 - 1).
const INT4_MAX = 2147483647;
const count = { type: 'integer', minimum: 0, maximum: INT4_MAX } as const;
const nullableCount = { ...count, type: ['integer', 'null'] } as const;
const bigCount = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const nullableBigCount = { ...bigCount, type: ['integer', 'null'] } as const;
const label = { type: 'string', minLength: 1, maxLength: 128 } as const;
const text = { type: 'string', maxLength: 1000 } as const;
const nullableTime = { ...utcTimestampSchema, type: ['string', 'null'] } as const;
/** A GPIO line the agent retries while it is down: the capture button, the LED, the buzzer. */
const lineHealth = {
  type: ['object', 'null'],
  required: ['up'],
  properties: {
    up: { type: 'boolean' },
    down_since: nullableTime,
    error: { ...text, type: ['string', 'null'] },
  },
} as const;

/**
 * JSON Schema (draft 2020-12) of a device heartbeat, version 1.x. Figures in seconds, bytes and
 * frames per second; times ISO-8601 UTC.
 *
 * @example
 * { "heartbeat_version": "1.0.0", "device_code": "dev-0001", "sent_at": "2026-12-05T10:00:00.000Z",
 *   "agent_version": "0.1.0", "uptime_s": 3600,
 *   "outbox": { "pending_captures": 0, "pending_bytes": 0, "oldest_pending_age_s": null, "quarantined": 0 },
 *   "disk": { "free_bytes": 12000000000 }, "clock": { "synced": true }, "probe": { "connected": true } }
 */
export const heartbeatSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://cti.example/schemas/device-heartbeat-1.json',
  title: 'CTI device heartbeat, version 1.x',
  type: 'object',
  required: [
    'heartbeat_version',
    'device_code',
    'sent_at',
    'agent_version',
    'uptime_s',
    'outbox',
    'disk',
    'clock',
    'probe',
  ],
  properties: {
    heartbeat_version: {
      type: 'string',
      pattern: '^1\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$',
      'x-expected': 'a semantic version 1.x.y, e.g. "1.0.0"',
    },
    device_code: {
      type: 'string',
      pattern: DEVICE_CODE_PATTERN,
      'x-expected': 'a device code: 1-63 of a-z 0-9 _ -, starting with a letter or digit',
    },
    /** The agent's wall clock when it built the heartbeat (the server compares it with its own). */
    sent_at: utcTimestampSchema,
    agent_version: label,
    models: {
      type: 'array',
      maxItems: 16,
      items: { type: 'object', required: ['name', 'version'], properties: { name: label, version: label } },
    },
    /** Seconds since the agent process started. */
    uptime_s: bigCount,
    /** Seconds since the Pi booted. */
    system_uptime_s: bigCount,
    outbox: {
      type: 'object',
      required: ['pending_captures', 'pending_bytes', 'oldest_pending_age_s', 'quarantined'],
      properties: {
        pending_captures: count,
        pending_bytes: bigCount,
        oldest_pending_age_s: nullableCount,
        quarantined: count,
        /** Captures an operator gave up on the device (`cti-agent outbox discard`); optional, additive. */
        discarded: count,
      },
    },
    last_capture_at: nullableTime,
    last_upload_at: nullableTime,
    disk: {
      type: 'object',
      required: ['free_bytes'],
      properties: {
        free_bytes: nullableBigCount,
        floor_bytes: bigCount,
        /**
         * Free inodes on the data volume: below 64 (DISK_INODES_SHORT) the agent refuses captures however many
         * bytes are free (a card full of small files). null: the file system does not count them
         * (btrfs, vfat); absent: an older agent. Optional, additive.
         */
        free_inodes: nullableBigCount,
      },
    },
    clock: {
      type: 'object',
      required: ['synced'],
      properties: {
        synced: { type: 'boolean' },
        source: label,
        /** Agent clock minus server clock, measured on the previous accepted heartbeat's round trip. */
        offset_ms: { type: ['number', 'null'], minimum: -INT4_MAX, maximum: INT4_MAX },
      },
    },
    probe: {
      type: 'object',
      required: ['connected'],
      properties: {
        connected: { type: 'boolean' },
        kind: label,
        model: { ...label, type: ['string', 'null'] },
        frame_rate_fps: { type: ['number', 'null'], minimum: 0, maximum: 100000 },
      },
    },
    health: {
      type: 'object',
      required: ['ok'],
      properties: { ok: { type: 'boolean' }, reason: { ...text, type: ['string', 'null'] } },
    },
    last_error: {
      type: ['object', 'null'],
      required: ['at', 'message'],
      properties: { at: utcTimestampSchema, message: text, source: label },
    },
    /**
     * Capture attempts since the agent process started (`uptime_s` ago), by result: `captured`, each
     * refusal reason (`not_a_ribeye_view`, `off_animal`, `frozen`…), `error`, `busy` — the labels of the
     * agent's `cti_agent_captures_total`. A restart starts again from zero.
     */
    captures_by_result: {
      type: 'object',
      maxProperties: 32,
      propertyNames: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,63}$' },
      additionalProperties: count,
    },
    ear_tag_reader: {
      type: ['object', 'null'],
      required: ['connected'],
      properties: { connected: { type: 'boolean' }, last_read_at: nullableTime },
    },
    /**
     * The GPIO capture button (`trigger.kind: gpio`); null or absent: none configured. `up: false`: it
     * could not be opened (no sysfs GPIO nor gpiomon, wrong chip label, no permission, line busy) and
     * the agent keeps retrying while everything else runs; `error` is the last failure with its fix,
     * `down_since` when it went down (the agent's clock). Optional, additive.
     */
    capture_button: lineHealth,
    /**
     * The status LED and buzzer (`led`, `buzzer`; null: not configured), each like `capture_button`:
     * `up: false` while the agent cannot drive the line — it failed a write (EIO, unexported, a loose
     * HAT) or could not be opened at start-up — and re-opens it in the background; the technician sees
     * or hears nothing from it meanwhile, captures go on. null or absent: neither configured (or an
     * older agent). Optional, additive.
     */
    status_signals: {
      type: ['object', 'null'],
      properties: { led: lineHealth, buzzer: lineHealth },
    },
  },
} as const;
