import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { type AppConfig, INGESTION_LOG_DEFAULTS } from '../config.ts';
import { databaseErrorCode, isRetryableDatabaseError } from '../db/database-errors.ts';
import { errorResponse, HttpError, internalError } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import { planIngest } from './ingest-plan.ts';
import { type IngestResult, ingestCapture } from './ingest-transaction.ts';
import type { IngestionLogRow, IngestionLogWriter } from './ingestion-log-writer.ts';
import { readRequestBody } from './read-body.ts';
import { createUnverifiedLogGate } from './unverified-log-gate.ts';
import {
  checkContentType,
  checkSignature,
  checkWebhookBody,
  identify,
  parseJson,
  signatureHeaders,
} from './webhook-request.ts';

export type IngestRouteOptions = {
  sql: Sql;
  config: AppConfig;
  log: Logger;
  metrics: ServerMetrics;
  logWriter: IngestionLogWriter;
  /** Milliseconds since the epoch; injectable so tests can sign with a fixed time. */
  clock: () => number;
};

/** ingestion_log.bytes_in is an int: a lying Content-Length must not make the row unwritable. */
const MAX_INT4 = 2 ** 31 - 1;

/** What one request revealed about itself, for its ingestion_log row; `verified`: its signature was. */
type Seen = { bytesIn: number; captureId: string; ingestKey: string; verified: boolean };

/** How often, at most, the log says how many unverified requests' rows were not written. */
const SKIPPED_NOTICE_MS = 60_000;

/**
 * POST /ingest/webhook: content type (415), size limit (413), signature (401), JSON (400), schema and
 * consistency (422), then the ingest transaction: 201 for a new scan, 200 for a replay, 503 with
 * Retry-After when the database is unavailable. Every request whose signature is verified leaves exactly
 * one ingestion_log row; the others at most CTI_INGESTION_LOG_UNVERIFIED_PER_MIN a minute (the rest are
 * counted in metrics and summed in a log line a minute).
 */
export function createIngestRoute(options: IngestRouteOptions): Hono {
  const app = new Hono();
  const gate = createUnverifiedLogGate({
    perMinute: (options.config.ingestionLog ?? INGESTION_LOG_DEFAULTS).unverifiedPerMinute,
    clock: options.clock,
  });
  let skipped = 0;
  let noticedAt = Number.NEGATIVE_INFINITY;
  const logRow = (row: IngestionLogRow, verified: boolean) => {
    if (verified || gate.take()) return options.logWriter.write(row);
    options.metrics.ingestionLogUnverifiedSkipped.inc();
    skipped++;
    const now = options.clock();
    if (now - noticedAt < SKIPPED_NOTICE_MS) return;
    options.log.warn(
      { skipped, lastErrorCode: row.errorCode },
      'requests without a verified signature over CTI_INGESTION_LOG_UNVERIFIED_PER_MIN: counted, not written to ingestion_log',
    );
    noticedAt = now;
    skipped = 0;
  };
  app.post('/ingest/webhook', (c) => handleWebhook(c, options, logRow));
  return app;
}

async function handleWebhook(
  c: Context,
  options: IngestRouteOptions,
  logRow: (row: IngestionLogRow, verified: boolean) => void,
) {
  const started = performance.now();
  const seen: Seen = { bytesIn: 0, captureId: '', ingestKey: '', verified: false };
  const requestId: string = c.get('requestId');
  let status = 500;
  let failure: HttpError | undefined;
  try {
    const { result, contentSha256 } = await ingestWebhook(c, options, seen, requestId);
    const conflict = result.replayed && result.contentDiffers === true;
    if (conflict) warnConflict(options, seen, requestId, result.storedContentSha256, contentSha256);
    options.metrics.ingestOutcomes.inc({
      outcome: result.replayed ? 'replayed' : 'accepted',
      reason: conflict ? 'content_differs' : 'ok',
    });
    status = result.replayed ? 200 : 201;
    return c.json(
      {
        scan_id: result.scanId,
        capture_id: seen.captureId,
        ingest_key: seen.ingestKey,
        replayed: result.replayed,
        ...(result.replayed && { content_differs: result.contentDiffers }),
        request_id: requestId,
      },
      result.replayed ? 200 : 201,
    );
  } catch (err) {
    failure = toHttpError(err, options);
    status = failure.status;
    countFailure(options, failure);
    return errorResponse(c, failure);
  } finally {
    const { verified, ...revealed } = seen;
    logRow(
      {
        ...revealed,
        httpStatus: status,
        ms: Math.round(performance.now() - started),
        error: failure ? failure.message : null,
        errorCode: failure ? failure.code : null,
        requestId,
      },
      verified,
    );
  }
}

async function ingestWebhook(
  c: Context,
  options: IngestRouteOptions,
  seen: Seen,
  requestId: string,
): Promise<{ result: IngestResult; contentSha256: string }> {
  const { config, clock } = options;
  checkContentType(c.req.header('content-type'));
  const raw = await readRequestBody(c, {
    limitBytes: config.bodyLimitBytes,
    onBytes: (n) => (seen.bytesIn = Math.min(n, MAX_INT4)),
  });
  checkSignature({
    body: raw,
    ...signatureHeaders((name) => c.req.header(name)),
    secrets: config.webhookSecrets,
    nowSeconds: Math.floor(clock() / 1000),
    toleranceSeconds: config.signatureToleranceSeconds,
  });
  seen.verified = true;
  const data = parseJson(raw);
  Object.assign(seen, identify(data));
  const body = checkWebhookBody(data, config.s3Buckets);
  const plan = planIngest(body);
  options.metrics.dbInFlight.inc();
  try {
    return {
      result: await ingestCapture(options.sql, plan, { requestId }),
      contentSha256: plan.contentSha256,
    };
  } finally {
    options.metrics.dbInFlight.dec();
  }
}

/**
 * The same ingest_key delivered with other content: the first delivery stays (the webhook is
 * retry-safe, a 4xx would dead-letter a capture that is already ingested), but an operator must see it.
 */
function warnConflict(
  { log }: IngestRouteOptions,
  seen: Seen,
  requestId: string,
  storedContentSha256: string | null,
  deliveredContentSha256: string,
): void {
  log.warn(
    {
      ingestKey: seen.ingestKey,
      captureId: seen.captureId,
      requestId,
      storedContentSha256,
      deliveredContentSha256,
    },
    'webhook redelivered an ingest_key with different content; kept the first delivery',
  );
}

function toHttpError(err: unknown, { config, log, metrics }: IngestRouteOptions): HttpError {
  if (err instanceof HttpError) return err;
  if (isRetryableDatabaseError(err)) {
    const code = databaseErrorCode(err);
    metrics.dbErrors.inc({ code });
    log.warn({ err: { code, message: (err as Error).message } }, 'database unavailable; answering 503');
    return new HttpError(503, 'database_unavailable', `database unavailable (${code}); retry later`, {
      headers: { 'Retry-After': String(config.retryAfterSeconds) },
      cause: err,
    });
  }
  log.error({ err }, 'ingest failed unexpectedly');
  return internalError(err);
}

function countFailure({ metrics }: IngestRouteOptions, failure: HttpError): void {
  const outcome = failure.status === 503 ? 'unavailable' : failure.status >= 500 ? 'error' : 'rejected';
  metrics.ingestOutcomes.inc({ outcome, reason: failure.code });
}
