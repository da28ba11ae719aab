import { MigrationError } from '@cti/db';

// Failures that mean "try again later", never "your request is wrong": the database is unreachable,
// restarting or overloaded, or it aborted our transaction to keep concurrent ones correct.

/** SQLSTATEs (and classes) after which the same request can succeed on retry. */
const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / recovery)
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  '25006', // read_only_sql_transaction (failover to a replica)
]);

/** postgres.js connection error codes and the Node socket errors behind them. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'REPLY_TIMEOUT', // reply-deadline-socket.ts: the connection went silent and was closed
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the error says the database is unavailable or asked us to retry (→ 503 + Retry-After). */
export function isRetryableDatabaseError(err: unknown): boolean {
  const code = codeOf(err);
  if (code === undefined) return false;
  // Class 08: connection exceptions reported by the server itself.
  return RETRYABLE_SQLSTATES.has(code) || CONNECTION_CODES.has(code) || code.startsWith('08');
}

export function databaseErrorCode(err: unknown): string {
  return codeOf(err) ?? 'unknown';
}

/**
 * True when the error means this connection is gone (socket closed, server shut it down or terminated
 * the backend): nothing more, not even ROLLBACK, can be sent on it.
 */
export function isConnectionLost(err: unknown): boolean {
  const code = codeOf(err);
  if (code === undefined) return false;
  return CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('57P0');
}

/**
 * One line for an operator when a one-shot `cti-server` command fails on the database itself rather
 * than on its request: unreachable or refusing us (address, password, database name), or a schema
 * older than this server (a table or column missing: not migrated), or migrations that cannot be
 * applied (MigrationError). undefined for anything else.
 */
export function describeDatabaseFailure(err: unknown): string | undefined {
  // CTI_MIGRATE_ON_START: a schema from a newer release, an edited migration, or a migration's SQL
  // refused (e.g. CREATE EXTENSION postgis without the right to): its sentences name the file.
  if (err instanceof MigrationError) {
    const hint = (err.cause as { hint?: unknown } | undefined)?.hint;
    return `cannot migrate the database at DATABASE_URL: ${err.message}${typeof hint === 'string' ? ` (${hint})` : ''}`;
  }
  const code = codeOf(err);
  if (code === undefined) return undefined;
  const message = (err as Error).message;
  if (
    CONNECTION_CODES.has(code) ||
    code.startsWith('08') ||
    code.startsWith('28') ||
    code === '3D000' ||
    code === '57P03'
  ) {
    return `cannot use the database at DATABASE_URL: ${message}`;
  }
  if (code === '42P01' || code === '42703' || code === '42883') {
    return `the database at DATABASE_URL is not migrated to this version (${message}); run \`cti-server migrate\` (or \`cti-db migrate\`)`;
  }
  return undefined;
}
