import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** The levels a `LOG_LEVEL` setting may name (pino's), as every CTI program validates it at start. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * What is wrong with a `LOG_LEVEL` value, in the words the server, worker, agent and relay all use —
 * or null when it is one of LOG_LEVELS. pino itself answers a bad level with a stack trace.
 *
 * @example const problem = logLevelProblem(env.LOG_LEVEL ?? 'info'); // 'must be one of fatal, …'
 */
export function logLevelProblem(value: string): string | null {
  return (LOG_LEVELS as readonly string[]).includes(value) ? null : `must be one of ${LOG_LEVELS.join(', ')}`;
}

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
