import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OutboxSummary } from '../outbox/outbox-types.ts';

/** Prometheus series of the uploader; the outbox gauges are read from its summary at scrape time. */
export function createUploaderMetrics(registry: Registry | undefined, summary: () => OutboxSummary) {
  if (!registry) return null;
  const registers = [registry];
  const gauge = (name: string, help: string, read: (s: OutboxSummary) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(summary()));
      },
    });
  gauge(
    'cti_agent_outbox_pending_captures',
    'Captures committed but not fully uploaded',
    (s) => s.pendingCaptures,
  );
  gauge('cti_agent_outbox_pending_bytes', 'Bytes still to upload', (s) => s.pendingBytes);
  gauge('cti_agent_outbox_oldest_pending_age_seconds', 'Age of the oldest pending capture', (s) =>
    s.oldestPendingAgeMs === null ? 0 : s.oldestPendingAgeMs / 1000,
  );
  gauge(
    'cti_agent_outbox_quarantined_captures',
    'Captures needing an operator (see cti-agent outbox quarantine)',
    (s) => s.quarantined,
  );
  gauge(
    'cti_agent_outbox_discarded_captures',
    'Captures an operator gave up (cti-agent outbox discard; never uploaded)',
    (s) => s.discarded,
  );
  gauge('cti_agent_outbox_last_success_timestamp_seconds', 'Unix time of the last uploaded object', (s) =>
    s.lastSuccessAt === null ? 0 : s.lastSuccessAt / 1000,
  );
  return {
    objects: new Counter({
      name: 'cti_agent_upload_objects_total',
      help: 'Objects confirmed in the store, by outcome (sent, already_present)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    bytes: new Counter({ name: 'cti_agent_upload_bytes_total', help: 'Bytes sent to the store', registers }),
    captures: new Counter({
      name: 'cti_agent_upload_captures_total',
      help: 'Captures fully uploaded',
      registers,
    }),
    errors: new Counter({
      name: 'cti_agent_upload_errors_total',
      help: 'Failed upload attempts by kind (transient, permanent, abandoned)',
      labelNames: ['kind'] as const,
      registers,
    }),
    delivery: new Histogram({
      name: 'cti_agent_upload_delivery_seconds',
      help: 'Time from outbox commit to meta.json in the store',
      buckets: [0.1, 0.5, 1, 5, 30, 120, 600, 3600, 86_400],
      registers,
    }),
  };
}

export type UploaderMetrics = ReturnType<typeof createUploaderMetrics>;
