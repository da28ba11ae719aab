import { collectDefaultMetrics, Registry } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Prefix for the default process metrics (event-loop lag, heap, GC, fds), e.g. `cti_server_`. */
  prefix: string;
  /** Collect the default process metrics; off in unit tests that count series. */
  defaults?: boolean;
}

/**
 * A private Prometheus registry per app instance (never prom-client's global one, so two apps built in
 * one test process do not collide). Default metrics include `<prefix>nodejs_eventloop_lag_seconds`.
 *
 * @example
 * const registry = createMetricsRegistry({ prefix: 'cti_server_' });
 * const requests = new Counter({ name: 'cti_http_requests_total', help: '…', registers: [registry] });
 */
export function createMetricsRegistry({ prefix, defaults = true }: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix });
  return registry;
}
