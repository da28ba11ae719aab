export { type BackoffOptions, backoffDelay, sleep } from './backoff.ts';
export { startsWithCalendarDate } from './calendar-date.ts';
export {
  createLogger,
  LOG_LEVELS,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  logLevelProblem,
  silentLogger,
} from './logger.ts';
export { makeDirectory, makeDirectorySync } from './make-directory.ts';
export { createMetricsRegistry, type MetricsRegistryOptions } from './metrics.ts';
export {
  BodyIncompleteError,
  BodyTooLargeError,
  DRAIN_FACTOR,
  type ReadBodyOptions,
  readLimitedBody,
} from './read-body.ts';
export { RetryExhaustedError, type RetryOptions, retry } from './retry.ts';
export { onShutdown, type ShutdownOptions } from './shutdown.ts';
export { writeFileAtomically } from './write-file-atomically.ts';
