import { randomUUID } from 'node:crypto';
import { backoffDelay } from '@cti/runtime';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { isRetryableDatabaseError } from '../db/database-errors.ts';
import type { ServerMetrics } from '../metrics.ts';

/** One ingestion_log row; capture_id and ingest_key are '' when the request never revealed them. */
export type IngestionLogRow = {
  captureId: string;
  ingestKey: string;
  httpStatus: number;
  bytesIn: number;
  ms: number;
  error: string | null;
  errorCode: string | null;
  requestId: string;
};

export type IngestionLogWriter = {
  write(row: IngestionLogRow): void;
  /** Resolves once every row written so far is in the database (retries while it is down). */
  flush(): Promise<void>;
  /** Flushes and stops; rows still unwritten after `timeoutMs` are reported and dropped. */
  close(options?: { timeoutMs?: number }): Promise<void>;
};

export type IngestionLogWriterOptions = {
  sql: Sql;
  log: Logger;
  metrics: ServerMetrics;
  /** How long a row may wait for companions before a batch is written. */
  flushIntervalMs?: number;
  maxBatch?: number;
  /** Rows kept in memory while the database is down; beyond that new rows are dropped (counted). */
  maxBuffered?: number;
};

/**
 * Writes ingestion_log rows in batches, off the request path: one multi-row INSERT per batch instead
 * of a round trip per request. While the database is unreachable (exactly when 503s are logged) rows
 * stay buffered and are retried with backoff, so the outage's own requests are logged once it returns.
 *
 * @example const logWriter = createIngestionLogWriter({ sql, log, metrics }); logWriter.write(row);
 */
export function createIngestionLogWriter({
  sql,
  log,
  metrics,
  flushIntervalMs = 10,
  maxBatch = 500,
  maxBuffered = 50_000,
}: IngestionLogWriterOptions): IngestionLogWriter {
  let buffer: KeyedRow[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failures = 0;
  let closed = false;

  const schedule = (delayMs: number) => {
    if (timer || running || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      drain().catch(() => {}); // failures are logged in drain and retried by its finally
    }, delayMs);
  };

  const writeBatch = async (batch: KeyedRow[]) => {
    metrics.dbInFlight.inc();
    try {
      await insertRows(sql, batch);
    } catch (err) {
      if (isRetryableDatabaseError(err)) throw err;
      // A row the database refuses (a bug, never an outage) must not block every row behind it.
      await insertOneByOne(batch);
    } finally {
      metrics.dbInFlight.dec();
    }
  };

  const insertOneByOne = async (batch: KeyedRow[]) => {
    for (const [i, row] of batch.entries()) {
      try {
        await insertRows(sql, [row]);
      } catch (err) {
        if (isRetryableDatabaseError(err)) throw new PartialWriteError(i, err);
        log.error({ err, row }, 'ingestion_log row refused by the database; dropped');
        metrics.ingestionLogDropped.inc();
      }
    }
  };

  // One drain at a time; it keeps going while rows arrive, then backs off on failure.
  const drain = (): Promise<void> => {
    running ??= (async () => {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, maxBatch);
        try {
          await writeBatch(batch);
        } catch (err) {
          if (err instanceof PartialWriteError) {
            buffer = buffer.slice(err.processed); // written (or dropped) already: never write twice
            metrics.ingestionLogWritten.inc(err.processed);
          }
          failures++;
          if (failures === 1 || failures % 50 === 0)
            log.warn({ err, buffered: buffer.length }, 'ingestion_log write failed; retrying');
          throw err;
        }
        failures = 0;
        buffer = buffer.slice(batch.length);
        metrics.ingestionLogWritten.inc(batch.length);
        metrics.ingestionLogBuffered.set(buffer.length);
      }
    })().finally(() => {
      running = undefined;
      if (buffer.length > 0)
        schedule(failures > 0 ? backoffDelay(failures, { baseMs: 100, capMs: 5_000 }) : 0);
    });
    return running;
  };

  const flushUntilEmpty = async (deadline: number) => {
    while (buffer.length > 0 || running) {
      try {
        await (running ?? drain());
      } catch {
        if (Date.now() > deadline) return;
        await new Promise((r) =>
          setTimeout(r, Math.min(backoffDelay(failures, { baseMs: 50, capMs: 1_000 }), 1_000)),
        );
      }
    }
  };

  return {
    write(row) {
      // Full (a long outage): drop the new row rather than shift the array under an in-flight batch.
      if (buffer.length >= maxBuffered) {
        metrics.ingestionLogDropped.inc();
        return;
      }
      // The key makes a retried batch idempotent: its acknowledgement may be lost after the commit.
      buffer.push({ ...sanitize(row), rowKey: randomUUID() });
      metrics.ingestionLogBuffered.set(buffer.length);
      if (buffer.length >= maxBatch) {
        clearTimeout(timer);
        timer = undefined;
        if (!running) void drain().catch(() => {});
      } else schedule(flushIntervalMs);
    },
    flush: () => flushUntilEmpty(Number.POSITIVE_INFINITY),
    async close({ timeoutMs = 5_000 } = {}) {
      clearTimeout(timer);
      timer = undefined;
      await flushUntilEmpty(Date.now() + timeoutMs);
      closed = true;
      if (buffer.length > 0) {
        log.error({ dropped: buffer.length }, 'ingestion_log rows could not be written before shutdown');
        metrics.ingestionLogDropped.inc(buffer.length);
        buffer = [];
      }
    },
  };
}

/** The outage began halfway through a row-by-row fallback: the first `processed` rows are done. */
class PartialWriteError extends Error {
  readonly processed: number;
  readonly code: string | undefined;

  constructor(processed: number, cause: unknown) {
    super('ingestion_log fallback interrupted', { cause });
    this.processed = processed;
    this.code = (cause as { code?: string }).code;
  }
}

const text = (s: string) => s.replaceAll('\u0000', '\uFFFD');

/** Postgres text cannot hold U+0000 (it can appear in a JSON parse error about a hostile body). */
function sanitize(row: IngestionLogRow): IngestionLogRow {
  return {
    ...row,
    captureId: text(row.captureId),
    ingestKey: text(row.ingestKey),
    error: row.error === null ? null : text(row.error),
    requestId: text(row.requestId),
  };
}

type KeyedRow = IngestionLogRow & { rowKey: string };

function insertRows(sql: Sql, rows: KeyedRow[]) {
  return sql`
    INSERT INTO ingestion_log (row_key, capture_id, ingest_key, http_status, bytes_in, ms, error, error_code, request_id)
    SELECT * FROM unnest(
      ${rows.map((r) => r.rowKey)}::uuid[],
      ${rows.map((r) => r.captureId)}::text[], ${rows.map((r) => r.ingestKey)}::text[],
      ${rows.map((r) => r.httpStatus)}::int[], ${rows.map((r) => r.bytesIn)}::int[],
      ${rows.map((r) => r.ms)}::int[], ${rows.map((r) => r.error)}::text[],
      ${rows.map((r) => r.errorCode)}::text[], ${rows.map((r) => r.requestId)}::text[])
    ON CONFLICT (row_key) DO NOTHING`;
}
