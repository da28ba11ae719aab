import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Service name, added to every line as `name`. */
  name: string;
  /** pino level; defaults to `LOG_LEVEL` or `info`. */
  level?: string;
  /** Where lines go; stdout by default (journald or Docker ship it). */
  destination?: DestinationStream;
}

/**
 * The one JSON logger a process makes in `main` and passes down (`log.child({ mod: 'uploader' })`).
 *
 * @example
 * const log = createLogger({ name: 'cti-server' });
 * log.child({ mod: 'ingest' }).info({ captureId }, 'ingested');
 */
export function createLogger({
  name,
  level = process.env.LOG_LEVEL ?? 'info',
  destination,
}: LoggerOptions): Logger {
  const options = { name, level, timestamp: pino.stdTimeFunctions.isoTime, base: { name } };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that drops everything: for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
