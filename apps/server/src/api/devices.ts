import { PIXEL_ASPECT_RANGE } from '@cti/contracts';
import type { TransactionSql } from 'postgres';
import { MAX_REFILE_SCANS, MOVE_BACKDATE_MAX_DAYS } from '../access/device-move.ts';
import {
  deviceReadSettings,
  hiddenStays,
  listDeviceHealth,
  listDevices,
  REFUSALS_COUNTED,
  updateDevice,
} from '../access/device-queries.ts';
import { isAdmin, isTechnician } from '../auth/principal.ts';
import { forbidden } from '../auth/session-middleware.ts';
import {
  DeviceRetirementError,
  RETIRED_REASON_MAX,
  retireDevice,
  unretireDevice,
} from '../devices/device-retirement.ts';
import { deviceHealthTrend } from '../devices/health-trend.ts';
import { HttpError } from '../errors.ts';
import {
  type CalibrationInput,
  calibrationProblems,
  listCalibrations,
  MAX_CALIBRATION_REGRADE_JOBS,
  MAX_IMAGE_SIDE,
  MAX_NOTE_LENGTH,
  MAX_SPACING_MM,
  MIN_SPACING_MM,
  NEITHER_MESSAGES,
  type RecordedCalibration,
  recordCalibrationAndRegrades,
  tooManyRegradesAdvice,
} from '../grading/device-calibration.ts';
import { TooManyRegradesError } from '../grading/regrade.ts';
import type { ApiDeps } from './api-deps.ts';
import { type ApiRoute, type JsonSchema, route } from './api-route.ts';
import { createBody, dateTime, nullable, object, patchBody, ref, shortText, uuid } from './common-schemas.ts';
import { invalidRequest, notFound } from './request-validation.ts';

export const deviceSchema: JsonSchema = object({
  id: uuid,
  device_code: { type: 'string' },
  label: { type: ['string', 'null'] },
  farm: nullable(object({ id: uuid, name: { type: 'string' } })),
  last_seen_at: {
    ...nullable(dateTime),
    description:
      'Its last heartbeat or capture; null for a non-admin when that was during a stay on a farm they cannot read (see `history_from`).',
  },
  last_upload_at: {
    ...nullable(dateTime),
    description:
      'When its last capture arrived here; for a non-admin, the last of its scans on farms they may read.',
  },
  captures_count: {
    type: 'integer',
    description:
      'Its captures that arrived here; for a non-admin, its scans on farms they may read (a Pi moved between farms does not tell one farm what was captured on another).',
  },
  scans_today: {
    type: 'integer',
    description:
      'Scans captured since midnight in `tz` that the caller may see (not those captured more than 5 minutes ahead of the server clock: a device clock running fast).',
  },
  today_starts_at: dateTime,
  can_edit: {
    type: 'boolean',
    description:
      'Whether you may change its label and farm: admins; technicians for a device of a farm they are technician of, or an unassigned one.',
  },
  heartbeats_refused: nullable(
    object({
      since: { ...dateTime, description: 'The first refusal after its last accepted heartbeat.' },
      last_at: { ...dateTime, description: 'The newest refusal (its status, code, reason and fix below).' },
      last_hour: {
        type: 'integer',
        description: `Refusals naming the device in the last hour (any code, replays too), counted up to ${REFUSALS_COUNTED}.`,
      },
      http_status: { type: 'integer' },
      error_code: {
        type: 'string',
        description:
          "The heartbeat route's code: stale_timestamp, future_timestamp, bad_signature, no_device_key…",
      },
      reason: { type: 'string', description: 'The cause in words.' },
      fix: { type: 'string', description: 'What fixes it.' },
    }),
  ),
  reported: nullable(
    object({
      last_upload_at: {
        ...nullable(dateTime),
        description: "The Pi's last successful upload to the bucket, by its own clock.",
      },
      last_capture_at: nullable(dateTime),
      captured: {
        type: ['integer', 'null'],
        description: 'Captures since the agent started (null: not reported, or withheld).',
      },
      agent_started_at: { ...nullable(dateTime), description: 'null: withheld.' },
      withheld: {
        type: 'boolean',
        description:
          'The agent has run since before the device came here from a farm you cannot read: captured and agent_started_at are null (they count its time there); last_upload_at and last_capture_at are null when they fall in its time there.',
      },
    }),
  ),
  retired: {
    ...nullable(
      object({
        at: dateTime,
        by: {
          type: 'string',
          description: "Who retired it: an admin's email, or the OS user who ran the command.",
        },
        reason: { type: ['string', 'null'] },
      }),
    ),
    description:
      'Set when an admin retired the device (`cti-server device retire`): its keys are revoked and its heartbeats refused; it is never silent, notified or on /metrics. Null: in service.',
  },
  history_from: {
    ...nullable(dateTime),
    description:
      'The device came here from a farm you cannot read (a Pi moved between farms): the end of its latest stay on a farm you cannot read (for a farmer an unassigned stay is one, but not the time before its first farm, which is that farm’s). Its heartbeats, snapshot and last seen from its stays on such farms, and its refusals before this time, are not shown to you (GET /devices/{id}/health neither); its stays on farms you read are. Null: nothing hidden (always for admins).',
  },
  uploads_not_arriving: {
    type: 'boolean',
    description:
      'The Pi reported an upload more than CTI_DEVICE_UPLOAD_ARRIVAL_S ago (its clock corrected by its measured offset) and none of its captures arrived here since: the relay, the bucket (CTI_S3_BUCKETS) or the webhook secret is wrong.',
  },
});

/** The body of POST /devices/{id}/retire (the device page's retire form is checked with it too). */
export const DEVICE_RETIRE_BODY: JsonSchema = createBody(
  { reason: { anyOf: [shortText(RETIRED_REASON_MAX), { type: 'null' }] } },
  [],
);

/**
 * Retire (`retire: true`) or bring back a device the admin may see, answering 409 (nothing written)
 * when it already is / is not retired. The command's twin (README, "Retiring a Pi").
 */
export async function setDeviceRetired(
  sql: ApiDeps['sql'],
  id: string,
  change: { retire: true; by: string; reason: string | null } | { retire: false },
): Promise<void> {
  try {
    if (change.retire) await retireDevice(sql, { id }, { by: change.by, reason: change.reason });
    else await unretireDevice(sql, { id });
  } catch (err) {
    if (!(err instanceof DeviceRetirementError)) throw err;
    if (err.code === 'no_device') throw notFound('device');
    throw new HttpError(409, err.code, err.message);
  }
}

/** The body of PATCH /devices/{id} (the device page's label and farm form is checked with it too). */
export const DEVICE_PATCH_BODY: JsonSchema = patchBody({
  label: { anyOf: [shortText(100), { type: 'null' }] },
  farm_id: nullable(uuid),
  moved_at: {
    ...dateTime,
    description: `Only with a change of \`farm_id\`: when the device really moved (default now), for a move recorded late. Its captures from then on are the new farm's (ingest files a late upload by it), and its history is cut there for each farm's people. 422 when in the future, not after the device's previous move (moves stay in time order), more than ${MOVE_BACKDATE_MAX_DAYS} days ago, or without a farm change.`,
  },
  refile_scans: {
    type: 'boolean',
    default: false,
    description: `Only with \`moved_at\`: also move to the new farm, in the same transaction, the scans counted in \`refile_candidates\` (each as PATCH /scans/{id} with farm_id would, its animal link following its ear tag); more than ${MAX_REFILE_SCANS}: 422 \`too_many_scans\`, nothing written. Default false: nothing is moved without being asked.`,
  },
});

export type DevicePatch = {
  label?: string | null;
  farm_id?: string | null;
  moved_at?: string;
  refile_scans?: boolean;
};

/** The answer of PATCH /devices/{id}: the device, and what a dated move found on the farm it left. */
export const deviceChangeSchema: JsonSchema = object({
  ...(deviceSchema.properties as Record<string, JsonSchema>),
  refile_candidates: {
    type: 'integer',
    description:
      "With `moved_at`: the device's scans still on the farm it left that were captured at or after that time, filed there by the device's farm (not by meta.json or a geofence) and not reassigned by hand (a refile of an earlier move recorded late is no hand edit) — uploaded while the move was not recorded. 0 without `moved_at`, and 0 for a device that had no farm before (a claim): its earlier scans were filed without a farm (an admin's to place, on each scan's page) or by a geofence, and a claim moves none of them.",
  },
  refile_unsynced: {
    type: 'integer',
    description:
      "With `moved_at`: the device's scans on the farm it left, filed there by its farm, that its clock cannot place on either side of the move — not synchronised (meta.json `clock.synced` false, or a time not taken), with the move inside the time ingest allows for such a capture (from a day before its captured_at up to its arrival). Ingest would have filed none of them on a farm; they are not moved (not in `refile_candidates`): an admin's or farmer's call on each scan's page.",
  },
  scans_refiled: {
    type: 'integer',
    description: 'Of those, moved to the new farm by this request (`refile_scans: true`); 0 otherwise.',
  },
});

export const calibrationSchema: JsonSchema = object({
  id: { type: 'string', description: 'Row id (rows are history, never edited).' },
  pixel_spacing_mm: {
    type: ['number', 'null'],
    description:
      'mm per pixel along the vertical (depth) axis; null: the row fixes no spacing — with a pixel_aspect, an aspect-only row (the spacing comes from meta.json or the on-screen ruler), without one a withdrawal of the calibration (a clear).',
  },
  pixel_aspect: {
    type: ['number', 'null'],
    description:
      'A pixel\'s width ÷ its height (defined in packages/contracts/README.md, "Pixel aspect"); null: the row declares none (square unless meta.json says otherwise).',
  },
  image_width: { type: ['integer', 'null'], description: 'The image size it applies to; null: any size.' },
  image_height: { type: ['integer', 'null'] },
  valid_from: dateTime,
  note: { type: ['string', 'null'] },
  created_by: nullable(object({ id: uuid, email: { type: 'string' } })),
  created_at: dateTime,
  in_effect: {
    type: 'boolean',
    description:
      'Already valid and not superseded for its image size: what grades a scan captured now (meta.json spacing still comes first).',
  },
});

const calibrationItems: JsonSchema = {
  type: 'array',
  items: ref('DeviceCalibration'),
  description: 'Newest first (valid_from, then id).',
};

export const deviceCalibrationsSchema: JsonSchema = object({ device_id: uuid, items: calibrationItems });

const int: JsonSchema = { type: 'integer' };
const nullableInt: JsonSchema = { type: ['integer', 'null'] };
const nullableNumber: JsonSchema = { type: ['number', 'null'] };
const nullableText: JsonSchema = { type: ['string', 'null'] };
/** A GPIO line the agent retries while it is down: the capture button, the LED, the buzzer. */
const lineHealth = (why: string): JsonSchema =>
  object({
    up: { type: 'boolean' },
    down_since: { ...nullable(dateTime), description: 'null while up.' },
    error: { ...nullableText, description: why },
  });

/** The latest heartbeat snapshot (`device_health`), as the fleet and device pages read it. */
const latestHeartbeatSchema: JsonSchema = object({
  device_id: uuid,
  received_at: dateTime,
  age_s: { type: 'number', description: 'Seconds since the heartbeat arrived, by the database clock.' },
  agent_version: { type: 'string' },
  uptime_s: { ...nullableNumber, description: 'null: counters_withheld.' },
  pending_captures: {
    ...nullableInt,
    description: 'null: counters_withheld (as pending_bytes, quarantined).',
  },
  pending_bytes: nullableNumber,
  oldest_pending_age_s: nullableInt,
  quarantined: nullableInt,
  discarded: {
    ...nullableInt,
    description:
      'Captures an operator gave up on the device (`cti-agent outbox discard`: never to be uploaded); null when the agent does not report it.',
  },
  disk_free_bytes: nullableNumber,
  disk_floor_bytes: nullableNumber,
  disk_free_inodes: {
    ...nullableNumber,
    description:
      'Free inodes on the data volume, from the heartbeat: under 64 the agent refuses every capture however many bytes are free (a card full of small files; `df -i` on the Pi). null: its file system does not count inodes (btrfs, vfat), or an agent that does not report them.',
  },
  clock_synced: { type: 'boolean' },
  clock_source: {
    ...nullableText,
    description: 'timesyncd, kernel, unsynchronized or unknown (the agent cannot tell)',
  },
  clock_offset_ms: nullableInt,
  probe_connected: { type: 'boolean' },
  probe_model: nullableText,
  frame_rate_fps: nullableNumber,
  health_ok: { type: ['boolean', 'null'] },
  health_reason: nullableText,
  last_error: nullableText,
  last_error_at: nullable(dateTime),
  silent_since: nullable(dateTime),
  backlog_since: nullable(dateTime),
  disk_low_since: nullable(dateTime),
  clock_unsynced_since: nullable(dateTime),
  models: {
    type: 'array',
    description:
      'The models the agent runs, from its heartbeat: the ribeye hint and its view card (ribeye-view; absent = no view gate).',
    items: object({ name: { type: 'string' }, version: { type: 'string' } }),
  },
  counters_withheld: {
    type: 'boolean',
    description:
      'The agent has run, or held its outbox backlog, since before the device came here from a farm you cannot read (a Pi carried between farms): uptime_s, captures_by_result, discarded and the outbox figures are null, as they count its time there. Times of its time there (last_error_at, *_since) are null too. Always false for admins.',
  },
  capture_button: {
    anyOf: [lineHealth('Why the agent cannot open it, with the fix; null while up.'), { type: 'null' }],
    description:
      'The GPIO capture button, from the heartbeat: up: false while the agent cannot open it (no sysfs GPIO nor gpiomon, a wrong chip label, no permission, the line held) and retries; uploads, heartbeats and `cti-agent capture` go on meanwhile. null: no GPIO button, or an agent that does not report it.',
  },
  status_signals: {
    anyOf: [
      object({
        led: {
          anyOf: [lineHealth('Why the agent cannot drive the LED line; null while up.'), { type: 'null' }],
          description: 'The status LED; null: not configured.',
        },
        buzzer: {
          anyOf: [lineHealth('Why the agent cannot drive the buzzer line; null while up.'), { type: 'null' }],
          description: 'The buzzer; null: not configured.',
        },
      }),
      { type: 'null' },
    ],
    description:
      'The status LED and buzzer, from the heartbeat: up: false while the agent cannot drive the line (a write failed: EIO, the line unexported or taken, a loose HAT; or it could not be opened at start-up) and re-opens it in the background; the technician sees or hears nothing from it meanwhile, captures go on. null: neither configured, or an agent that does not report them.',
  },
  captures_by_result: {
    type: ['object', 'null'],
    additionalProperties: int,
    description:
      'Capture attempts since the agent last started, by result: captured, each refusal reason (not_a_ribeye_view, off_animal…), error, busy. null: the agent does not report them.',
  },
});

/** The answer of GET /devices/{id}/health. */
export const deviceHealthSchema: JsonSchema = object({
  device_id: uuid,
  latest: { anyOf: [latestHeartbeatSchema, { type: 'null' }], description: 'null: never heard.' },
  hours: {
    type: 'array',
    description:
      'By the hour (UTC), from the hour of the first heartbeat in the window to the current hour; an hour without a heartbeat has heartbeats 0 and null figures.',
    items: object({
      t: dateTime,
      heartbeats: int,
      pending_captures: { ...nullableInt, description: 'The largest outbox backlog reported in the hour.' },
      disk_free_bytes: { ...nullableNumber, description: 'The least free disk reported in the hour.' },
      clock_offset_ms: { ...nullableInt, description: 'The clock offset farthest from zero in the hour.' },
    }),
  },
});

/** The answer of POST /devices/{id}/calibrations: the calibrations after the change and what it queued. */
export const calibrationChangeSchema: JsonSchema = object({
  device_id: uuid,
  items: calibrationItems,
  regrade_jobs_queued: {
    type: 'integer',
    description: 'Regrade jobs queued by this request (0 without `regrade: true`).',
  },
  regrade_already_pending: {
    type: 'integer',
    description:
      'Scans the calibration applies to that already had a job waiting or running (not queued twice; 0 without `regrade`).',
  },
  regrade_kept_corrected: {
    type: 'integer',
    description:
      'Scans the calibration applies to whose latest result was corrected by hand: not regraded (the model would replace the correction); their figures keep the spacing of their correction. 0 without `regrade`.',
  },
});

/** The body of POST /devices/{id}/calibrations (the dashboard's form is checked with the same schema). */
export const CALIBRATION_BODY: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pixel_spacing_mm: {
      type: ['number', 'null'],
      minimum: MIN_SPACING_MM,
      maximum: MAX_SPACING_MM,
      description: `mm per pixel along the vertical (depth) axis, in (0, ${MAX_SPACING_MM}] (at least ${MIN_SPACING_MM}). Absent or null with a pixel_aspect: the row declares the aspect only (the spacing comes from meta.json or the on-screen ruler). null without a pixel_aspect: clear (withdraw) the calibration. A body with neither is 422.`,
    },
    pixel_aspect: {
      type: ['number', 'null'],
      minimum: PIXEL_ASPECT_RANGE[0],
      maximum: PIXEL_ASPECT_RANGE[1],
      description: `A pixel's width ÷ its height, ${PIXEL_ASPECT_RANGE[0]}–${PIXEL_ASPECT_RANGE[1]} (packages/contracts/README.md, "Pixel aspect"): 0.889 for a 4:3 picture captured at 720×480. Absent or null: none declared (square unless meta.json says otherwise). With or without a pixel_spacing_mm.`,
    },
    image_width: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_IMAGE_SIDE,
      description: 'With image_height: only images of this size.',
    },
    image_height: { type: 'integer', minimum: 1, maximum: MAX_IMAGE_SIDE },
    valid_from: {
      ...dateTime,
      description: 'From when it applies (default now); earlier scans need a regrade.',
    },
    note: { type: ['string', 'null'], maxLength: MAX_NOTE_LENGTH, description: 'e.g. probe and depth.' },
    regrade: {
      type: 'boolean',
      default: false,
      description: `Also queue a regrade job, in the same transaction, for each scan this row now applies to (the device's scans captured at or after valid_from that no newer row covers; a row for one image size takes the device's scans of every size, as image sizes are not stored). Default false: a regrade re-runs the models on every such scan (worker time, and a new grading result each), so it is asked for, not implied. More than ${MAX_CALIBRATION_REGRADE_JOBS} jobs: 422 and nothing written (use \`cti-server regrade\`).`,
    },
  },
};

export type CalibrationBody = {
  pixel_spacing_mm?: number | null;
  pixel_aspect?: number | null;
  image_width?: number;
  image_height?: number;
  valid_from?: string;
  note?: string | null;
  regrade?: boolean;
};

const CALIBRATION_POINTERS = {
  pixel_spacing_mm: '/pixel_spacing_mm',
  pixel_aspect: '/pixel_aspect',
  image_size: '/image_width',
  valid_from: '/valid_from',
  note: '/note',
} as const;

/**
 * A checked body as the shared calibration input (the same rules as `cti-server calibration`); a 422
 * naming the field otherwise, e.g. image_width without image_height. A spacing, an aspect or both set;
 * `pixel_spacing_mm: null` alone clears; a body naming neither is refused, naming both fields.
 */
export function calibrationInput(body: CalibrationBody): CalibrationInput {
  if (body.pixel_spacing_mm === undefined && (body.pixel_aspect ?? null) === null) {
    throw invalidRequest(
      [
        { pointer: '/pixel_spacing_mm', message: NEITHER_MESSAGES.pixel_spacing_mm },
        { pointer: '/pixel_aspect', message: NEITHER_MESSAGES.pixel_aspect },
      ],
      'give pixel_spacing_mm, pixel_aspect or both to set a calibration, or pixel_spacing_mm: null to clear it',
    );
  }
  if ((body.image_width === undefined) !== (body.image_height === undefined)) {
    const missing = body.image_width === undefined ? 'image_width' : 'image_height';
    throw invalidRequest(
      [{ pointer: `/${missing}`, message: 'must be given with the other image side (or neither)' }],
      `${missing} is missing: give image_width and image_height together, or neither`,
    );
  }
  const input: CalibrationInput = {
    pixelSpacingMm: body.pixel_spacing_mm ?? null,
    pixelAspect: body.pixel_aspect ?? null,
    imageSize: body.image_width === undefined ? null : [body.image_width, body.image_height!],
    validFrom: body.valid_from === undefined ? null : new Date(body.valid_from),
    note: body.note?.trim() || null,
  };
  const clear = input.pixelSpacingMm === null && input.pixelAspect === null;
  const problems = calibrationProblems(clear ? 'clear' : 'set', input);
  if (problems.length > 0) {
    throw invalidRequest(
      problems.map((p) => ({ pointer: CALIBRATION_POINTERS[p.field], message: p.message })),
    );
  }
  return input;
}

/**
 * Records the row (and with `regrade` queues its scans' regrades, all in one transaction); too many
 * jobs is a 422 naming the count and the command that has no limit, with nothing written.
 */
export async function setCalibration<R = RecordedCalibration>(
  sql: ApiDeps['sql'],
  device: { id: string; device_code: string },
  input: CalibrationInput,
  userId: string | null,
  regrade: boolean,
  /** Runs the work in a transaction (the dashboard's: once per form). */
  begin: (work: (tx: TransactionSql) => Promise<RecordedCalibration>) => Promise<R> = (work) =>
    sql.begin(work) as Promise<R>,
): Promise<R> {
  try {
    return await begin((tx) => recordCalibrationAndRegrades(tx, device.id, input, userId, { regrade }));
  } catch (err) {
    if (!(err instanceof TooManyRegradesError)) throw err;
    const { message, problem } = tooManyRegradesAdvice(err, device.device_code, input.validFrom);
    throw new HttpError(422, 'too_many_regrades', message, {
      problems: [{ pointer: '/regrade', message: problem }],
    });
  }
}

/** A device the principal may see, or a 404. */
async function visibleDevice(sql: ApiDeps['sql'], principal: Parameters<typeof listDevices>[1], id: string) {
  // Its counts are not shown by the routes that look it up (review r14 F9).
  const [device] = await listDevices(sql, principal, { id, counts: false });
  if (!device) throw notFound('device');
  return device;
}

const tzParam = {
  schema: { type: 'string', minLength: 1, maxLength: 64, default: 'UTC' },
  description:
    'Time zone that defines "today" (default UTC): an IANA name, e.g. America/Toronto, or an ISO offset, e.g. +05:00 (UTC+5; `+` encoded as %2B in a URL).',
};

/**
 * The zone as Postgres must read it. Node accepts ISO offsets ("+05:00", "+0530", "-03"), which
 * Postgres would read as POSIX zones, where positive is WEST of Greenwich ("+05:00" would be UTC−5):
 * they are handed over as a POSIX zone with the sign turned and the ISO offset as its abbreviation
 * ("<+0500>-05:00", UTC+5).
 */
function timeZone(tz: string | undefined): string {
  if (tz === undefined) return 'UTC';
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    throw new HttpError(422, 'invalid_request', `unknown time zone ${JSON.stringify(tz)}`, {
      problems: [
        { pointer: '/query/tz', message: 'is not an IANA time zone name or an ISO offset (+05:00)' },
      ],
    });
  }
  const offset = /^([+-])(\d{2}):(\d{2})$/.exec(resolved);
  if (!offset) return tz;
  const [, sign, hours, minutes] = offset;
  return `<${sign}${hours}${minutes}>${sign === '+' ? '-' : '+'}${hours}:${minutes}`;
}

/**
 * /devices: the fleet (every role sees the devices of its farms); admins and the technicians of a
 * device's farm label and assign it (editableDevice); admins set calibrations.
 */
export function deviceRoutes({ sql, config }: ApiDeps): ApiRoute[] {
  const settings = deviceReadSettings(config);
  return [
    route<{ tz?: string }>({
      method: 'get',
      path: '/devices',
      tag: 'devices',
      summary: 'The fleet: last seen, last upload, captures, scans today',
      access: 'user',
      query: { tz: tzParam },
      responses: {
        200: { description: 'Devices', schema: object({ items: { type: 'array', items: ref('Device') } }) },
      },
      async handler({ c, principal, query }) {
        return c.json({
          items: await listDevices(sql, principal, { timeZone: timeZone(query.tz), settings }),
        });
      },
    }),
    route<{ tz?: string }>({
      method: 'get',
      path: '/devices/{id}',
      tag: 'devices',
      summary: 'One device',
      access: 'user',
      query: { tz: tzParam },
      responses: { 200: { description: 'The device', schema: ref('Device') } },
      async handler({ c, principal, params, query }) {
        const [device] = await listDevices(sql, principal, {
          timeZone: timeZone(query.tz),
          id: params.id!,
          settings,
        });
        if (!device) throw notFound('device');
        return c.json(device);
      },
    }),
    route<Record<string, never>, DevicePatch>({
      method: 'patch',
      path: '/devices/{id}',
      tag: 'devices',
      summary: 'Label a device or set its default farm (admins; technicians of its farm and of the new one)',
      description:
        "A technician may change a device of a farm they are technician of, or an unassigned one (a Pi being set up), and give it one of their farms or none: moving a device needs rights on both farms. A device the caller cannot see is a 404; one they see but may not change (a farmer's, a technician's farm they only read) a 403; a `farm_id` they cannot see a 422, one they only read a 403. A move recorded late is given the time it happened with `moved_at`; the scans it leaves on the old farm are counted (`refile_candidates`) and moved only with `refile_scans: true`.",
      access: 'user',
      body: DEVICE_PATCH_BODY,
      responses: {
        200: { description: 'The device, and the scans a dated move found', schema: ref('DeviceChange') },
      },
      async handler({ c, principal, params, body }) {
        if (!isAdmin(principal) && !isTechnician(principal))
          throw forbidden("only admins and technicians change a device's label and farm");
        const refile = await updateDevice(sql, principal, params.id!, body);
        if (!refile) throw notFound('device');
        const [device] = await listDevices(sql, principal, { id: params.id!, settings });
        return c.json({
          ...device,
          refile_candidates: refile.candidates,
          scans_refiled: refile.refiled,
          refile_unsynced: refile.unsynced,
        });
      },
    }),
    route<{ days?: number }>({
      method: 'get',
      path: '/devices/{id}/health',
      tag: 'devices',
      summary: "The device's latest heartbeat and its history by the hour (whoever may see the device)",
      description:
        'What the device page shows: the latest heartbeat snapshot and, from the heartbeat history (kept CTI_DEVICE_HISTORY_DAYS), the worst of each hour: largest backlog, least free disk, largest clock offset.',
      access: 'user',
      query: {
        days: {
          schema: { type: 'integer', minimum: 1, maximum: 366, default: 7 },
          description: 'How many days back (default 7; at most CTI_DEVICE_HISTORY_DAYS are kept).',
        },
      },
      responses: { 200: { description: 'The device health', schema: ref('DeviceHealth') } },
      async handler({ c, principal, params, query }) {
        const device = await visibleDevice(sql, principal, params.id!);
        const days = Math.min(query.days ?? 7, config.devices.historyDays);
        const [[latest], hours] = await Promise.all([
          listDeviceHealth(sql, principal, { id: device.id }),
          deviceHealthTrend(sql, device.id, days, {
            hidden: hiddenStays(sql, principal, sql`${device.id}::uuid`),
          }),
        ]);
        // Each hour's start with milliseconds, like every other timestamp of the API (review r12 F12).
        const hourly = hours.map((h) => ({ ...h, t: new Date(h.t).toISOString() }));
        return c.json({ device_id: device.id, latest: latest ?? null, hours: hourly });
      },
    }),
    route<Record<string, never>, { reason?: string | null }>({
      method: 'post',
      path: '/devices/{id}/retire',
      tag: 'devices',
      summary: 'Retire a device: revoke its keys; it is no longer watched (admin)',
      description:
        'Records when, by whom (your email) and why. Its heartbeats are then refused (401 `device_retired`); it is never silent, notified or on /metrics, and the fleet lists it apart; its page, history and scans stay. 409 `already_retired` (nothing written) when it is. Bring it back with POST /devices/{id}/unretire, then `cti-server device add` for a key.',
      access: 'admin',
      body: DEVICE_RETIRE_BODY,
      responses: { 200: { description: 'The device, retired', schema: ref('Device') } },
      async handler({ c, principal, params, body }) {
        const device = await visibleDevice(sql, principal, params.id!);
        await setDeviceRetired(sql, device.id, {
          retire: true,
          by: principal.email,
          reason: body.reason ?? null,
        });
        const [after] = await listDevices(sql, principal, { id: device.id, settings });
        return c.json(after);
      },
    }),
    route({
      method: 'post',
      path: '/devices/{id}/unretire',
      tag: 'devices',
      summary: 'Bring a retired device back into service, without a key (admin)',
      description:
        'Its old health snapshot is dropped ("no heartbeat yet" until its first heartbeat); its keys stay revoked: issue one with `cti-server device add`. 409 `not_retired` when it is in service.',
      access: 'admin',
      responses: { 200: { description: 'The device, in service', schema: ref('Device') } },
      async handler({ c, principal, params }) {
        const device = await visibleDevice(sql, principal, params.id!);
        await setDeviceRetired(sql, device.id, { retire: false });
        const [after] = await listDevices(sql, principal, { id: device.id, settings });
        return c.json(after);
      },
    }),
    route({
      method: 'get',
      path: '/devices/{id}/calibrations',
      tag: 'devices',
      summary:
        "The device's pixel-spacing and pixel-aspect calibrations, newest first (whoever may see the device)",
      description:
        "Per-device pixel spacing, the second source grading tries (after meta.json, before the on-screen ruler), and pixel aspect (after meta.json's). A row may declare the aspect only: its pixel_spacing_mm is null and the spacing comes from meta.json or the ruler. Rows are history: setting or clearing adds one.",
      access: 'user',
      responses: { 200: { description: 'Calibrations', schema: ref('DeviceCalibrations') } },
      async handler({ c, principal, params }) {
        const device = await visibleDevice(sql, principal, params.id!);
        return c.json({ device_id: device.id, items: await listCalibrations(sql, device.id) });
      },
    }),
    route<Record<string, never>, CalibrationBody>({
      method: 'post',
      path: '/devices/{id}/calibrations',
      tag: 'devices',
      summary:
        'Set (pixel_spacing_mm, pixel_aspect or both) or clear (pixel_spacing_mm: null) the calibration of a device, optionally regrading its scans (admin)',
      description: `Adds a row to the history, recorded with the admin and the time. Scans already graded keep their result unless \`regrade: true\` queues a regrade of the scans the row applies to, with the row in one transaction (no second job for a scan with one waiting or running). Over ${MAX_CALIBRATION_REGRADE_JOBS} jobs: 422 \`too_many_regrades\`, nothing written; queue them with \`cti-server regrade --device <code> --since <valid_from>\`.`,
      access: 'admin',
      body: CALIBRATION_BODY,
      responses: {
        201: {
          description: 'The calibrations after the change, and the regrade jobs queued',
          schema: ref('DeviceCalibrationChange'),
        },
      },
      async handler({ c, principal, params, body }) {
        const device = await visibleDevice(sql, principal, params.id!);
        const input = calibrationInput(body);
        const recorded = await setCalibration(sql, device, input, principal.userId, body.regrade === true);
        return c.json(
          {
            device_id: device.id,
            items: await listCalibrations(sql, device.id),
            regrade_jobs_queued: recorded.regrade?.enqueued ?? 0,
            regrade_already_pending: recorded.regrade?.alreadyPending ?? 0,
            regrade_kept_corrected: recorded.regrade?.keptCorrected ?? 0,
          },
          201,
        );
      },
    }),
  ];
}
