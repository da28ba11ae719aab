import { createMetricsRegistry } from '@cti/runtime';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The server's Prometheus series, on a private registry (two apps in one test never collide). */
export type ServerMetrics = ReturnType<typeof createServerMetrics>;

export type ServerMetricsOptions = {
  /** Configured postgres.js pool size, exported as cti_db_pool_max. */
  dbPoolMax: number;
  /** Collect process defaults (event-loop lag, heap, GC); tests that count series turn it off. */
  defaults?: boolean;
};

/**
 * Creates the registry and every series `/metrics` exposes.
 *
 * @example const metrics = createServerMetrics({ dbPoolMax: 10 }); metrics.ingestOutcomes.inc({ outcome: 'accepted', reason: 'ok' });
 */
export function createServerMetrics({ dbPoolMax, defaults = true }: ServerMetricsOptions) {
  const registry: Registry = createMetricsRegistry({ prefix: 'cti_server_', defaults });
  const registers = [registry];
  const poolMax = new Gauge({
    name: 'cti_db_pool_max',
    help: 'Configured database connection pool size',
    registers,
  });
  poolMax.set(dbPoolMax);
  return {
    registry,
    httpRequests: new Counter({
      name: 'cti_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'cti_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    ingestOutcomes: new Counter({
      name: 'cti_ingest_outcomes_total',
      help: 'Webhook outcomes: accepted, replayed, rejected (by reason), unavailable (503) or error (500)',
      labelNames: ['outcome', 'reason'] as const,
      registers,
    }),
    dbInFlight: new Gauge({
      name: 'cti_db_operations_in_flight',
      help: 'Database operations (ingest transactions, log flushes, probes) waiting for or using a pool connection',
      registers,
    }),
    dbErrors: new Counter({
      name: 'cti_db_errors_total',
      help: 'Database errors by SQLSTATE or connection error code',
      labelNames: ['code'] as const,
      registers,
    }),
    dbSilentConnections: new Counter({
      name: 'cti_db_silent_connections_total',
      help: 'Database connections closed because they owed a reply and sent nothing for CTI_DB_REPLY_TIMEOUT_S',
      registers,
    }),
    ingestionLogBuffered: new Gauge({
      name: 'cti_ingestion_log_buffered',
      help: 'ingestion_log rows waiting to be written',
      registers,
    }),
    ingestionLogWritten: new Counter({
      name: 'cti_ingestion_log_written_total',
      help: 'ingestion_log rows written',
      registers,
    }),
    deviceHeartbeats: new Counter({
      name: 'cti_device_heartbeats_total',
      help: 'Device heartbeats: accepted, rejected (by reason), unavailable (503) or error (500)',
      labelNames: ['outcome', 'reason'] as const,
      registers,
    }),
    ingestionLogUnverifiedSkipped: new Counter({
      name: 'cti_ingestion_log_unverified_skipped_total',
      help: 'ingestion_log rows not written for requests whose signature was not verified, over CTI_INGESTION_LOG_UNVERIFIED_PER_MIN',
      registers,
    }),
    ingestionLogDropped: new Counter({
      name: 'cti_ingestion_log_dropped_total',
      help: 'ingestion_log rows dropped because the buffer was full during a long database outage',
      registers,
    }),
  };
}
