import {
  DEVICE_HEADER,
  type HeartbeatBody,
  heartbeatSchema,
  TIMESTAMP_HEADER,
  validateHeartbeat,
  withoutUnknownFields,
} from '@cti/contracts';
import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { AppConfig } from '../config.ts';
import { databaseErrorCode, isRetryableDatabaseError } from '../db/database-errors.ts';
import { errorResponse, HttpError, internalError } from '../errors.ts';
import { readRequestBody } from '../ingest/read-body.ts';
import {
  bodyTextProblems,
  checkContentType,
  describeProblems,
  parseJson,
} from '../ingest/webhook-request.ts';
import type { ServerMetrics } from '../metrics.ts';
import { authenticateDevice } from './heartbeat-auth.ts';
import { DuplicateHeartbeatError, HeartbeatRateError, recordHeartbeat } from './heartbeat-store.ts';
import { logRejection } from './rejection-log.ts';

/**
 * A heartbeat is about 1.3 KB; one with every field at the schema's bounds (16 models with 128-character
 * names, 32 capture results, 1000-character reason and error) is 10.5 KB, 20.5 KB if both texts are
 * control characters JSON escapes as \u00XX. A larger body is not a heartbeat. Unknown fields are
 * dropped before storage, so this bounds what a device key makes the server read, and the schema
 * what it stores (review r11 F11).
 */
export const HEARTBEAT_BODY_LIMIT_BYTES = 24 * 1024;

export type HeartbeatRouteOptions = {
  sql: Sql;
  config: AppConfig;
  log: Logger;
  metrics: ServerMetrics;
  /**
   * Milliseconds since the epoch: this replica's clock, which signatures' timestamps are checked against.
   * What is recorded for a device is on the database's clock (recordHeartbeat).
   */
  clock: () => number;
};

/**
 * POST /devices/heartbeat: content type (415), size (413), device signature (401), JSON (400), schema
 * and device agreement (422), then the record: 200 with the server's time (the agent measures its
 * clock offset from it), 409 for a replayed request, 429 + Retry-After for a device over
 * CTI_DEVICE_HEARTBEATS_PER_MINUTE, 503 + Retry-After when the database is away.
 * Every other refused request leaves one device_request_rejections row and nothing else; a 429 leaves nothing.
 */
export function createHeartbeatRoute(options: HeartbeatRouteOptions): Hono {
  const app = new Hono();
  app.post('/devices/heartbeat', (c) => handleHeartbeat(c, options));
  return app;
}

async function handleHeartbeat(c: Context, o: HeartbeatRouteOptions) {
  const requestId: string = c.get('requestId');
  // The signature window (±CTI_SIGNATURE_TOLERANCE_S, minutes) is checked on this replica's clock: before
  // any database round trip, so a malformed or forged request costs none. Only a replica off by about the
  // tolerance would refuse Pis for it; every time recorded or compared is the database's (recordHeartbeat).
  const localNow = new Date(o.clock());
  try {
    checkContentType(c.req.header('content-type'));
    const raw = await readRequestBody(c, { limitBytes: HEARTBEAT_BODY_LIMIT_BYTES, onBytes: () => {} });
    const device = await authenticateDevice({
      sql: o.sql,
      body: raw,
      header: (name) => c.req.header(name),
      now: localNow,
      toleranceSeconds: o.config.signatureToleranceSeconds,
    });
    const body = checkHeartbeatBody(parseJson(raw), {
      deviceCode: device.deviceCode,
      signedAtMs: Number(c.req.header(TIMESTAMP_HEADER)) * 1000,
      toleranceSeconds: o.config.signatureToleranceSeconds,
    });
    const result = await recordHeartbeat(o.sql, {
      deviceId: device.deviceId,
      key: device.key,
      body,
      signature: device.signature,
      sentAtToleranceSeconds: o.config.signatureToleranceSeconds,
      thresholds: o.config.devices,
      perMinute: o.config.devices.heartbeatsPerMinute,
      clock: o.clock,
    });
    o.metrics.deviceHeartbeats.inc({ outcome: 'accepted', reason: 'ok' });
    if (result.started.length > 0)
      o.log.info({ device: device.deviceCode, episodes: result.started }, 'device health episode started');
    return c.json({
      accepted: true,
      device_code: device.deviceCode,
      heartbeat_id: result.heartbeatId,
      received_at: result.receivedAt.toISOString(),
      superseded: result.superseded,
      // The database's clock, which received_at and clock_skew_ms are on: the agent's measured offset
      // agrees with them whichever replica answers.
      server_time_ms: o.clock() + result.databaseAheadMs,
      request_id: requestId,
    });
  } catch (err) {
    const failure = toHttpError(err, o);
    const outcome = failure.status === 503 ? 'unavailable' : failure.status >= 500 ? 'error' : 'rejected';
    o.metrics.deviceHeartbeats.inc({ outcome, reason: failure.code });
    // A device over its rate is refused without a trace (the metric counts it): a flood writes nothing.
    if (failure.status < 500 && failure.status !== 429) {
      o.log.warn(
        { device: c.req.header(DEVICE_HEADER), code: failure.code, requestId },
        'device request refused',
      );
      await logRejection(o.sql, o.log, {
        deviceCode: c.req.header(DEVICE_HEADER) ?? '',
        httpStatus: failure.status,
        errorCode: failure.code,
        message: failure.message,
        requestId,
        remoteAddr: (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket.remoteAddress ?? null,
      });
    }
    return errorResponse(c, failure);
  }
}

/**
 * `sent_at` is the agent's clock when it built the body, which it also signs as X-CTI-Timestamp (the
 * reference agent reads its clock once for both). A body whose `sent_at` disagrees with its own
 * signature by more than CTI_SIGNATURE_TOLERANCE_S is refused: stored, a `sent_at` days ahead made
 * every later heartbeat "superseded" (the snapshot frozen) until the wall clock caught up (review r11
 * F2). It also keeps `clock_skew_ms` (an int, against the database's clock) within range: the timestamp
 * is within the tolerance of this replica's clock, which is not weeks off the database's.
 */
function checkHeartbeatBody(
  data: unknown,
  {
    deviceCode,
    signedAtMs,
    toleranceSeconds,
  }: { deviceCode: string; signedAtMs: number; toleranceSeconds: number },
): HeartbeatBody {
  const problems = [...bodyTextProblems(data)];
  const result = problems.length === 0 ? validateHeartbeat(data) : null;
  if (result && !result.ok) problems.push(...result.problems);
  const apartMs = result?.ok ? new Date(result.value.sent_at).getTime() - signedAtMs : 0;
  // The signed timestamp is whole seconds: a sent_at up to 1 s after it is the same clock read.
  if (apartMs < -toleranceSeconds * 1000 || apartMs >= (toleranceSeconds + 1) * 1000) {
    problems.push({
      pointer: '/sent_at',
      message: `must be within ${toleranceSeconds} s (CTI_SIGNATURE_TOLERANCE_S) of the signed ${TIMESTAMP_HEADER} (${new Date(signedAtMs).toISOString()}): the agent builds both from one reading of its clock`,
    });
  }
  if (result?.ok && result.value.device_code !== deviceCode) {
    problems.push({
      pointer: '/device_code',
      message: `must be the signing device ${JSON.stringify(deviceCode)}`,
    });
  }
  if (problems.length > 0) {
    throw new HttpError(422, 'invalid_heartbeat', describeProblems(problems, 'heartbeat body'), { problems });
  }
  // Known fields only: what is stored (twice, for CTI_DEVICE_HISTORY_DAYS) is bounded by the schema,
  // not by what a sender adds. Unknown fields are dropped, not refused: an agent newer than the server
  // may send fields of a later 1.x, and must still be heard (review r11 F11).
  return withoutUnknownFields(heartbeatSchema, (result as { value: HeartbeatBody }).value);
}

function toHttpError(err: unknown, { config, log, metrics }: HeartbeatRouteOptions): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof DuplicateHeartbeatError) return new HttpError(409, 'replayed_request', err.message);
  if (err instanceof HeartbeatRateError) {
    return new HttpError(429, 'rate_limited', err.message, {
      headers: { 'Retry-After': String(err.retryAfterSeconds) },
    });
  }
  if (isRetryableDatabaseError(err)) {
    const code = databaseErrorCode(err);
    metrics.dbErrors.inc({ code });
    log.warn(
      { err: { code, message: (err as Error).message } },
      'database unavailable; heartbeat answered 503',
    );
    return new HttpError(503, 'database_unavailable', `database unavailable (${code}); retry later`, {
      headers: { 'Retry-After': String(config.retryAfterSeconds) },
      cause: err,
    });
  }
  log.error({ err }, 'heartbeat failed unexpectedly');
  return internalError(err);
}
