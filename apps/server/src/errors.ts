import type { Problem } from '@cti/contracts';
import type { Context, ErrorHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { databaseErrorCode, isRetryableDatabaseError } from './db/database-errors.ts';

/**
 * An expected HTTP failure: a status, a stable machine-readable `code` (also the metrics reason and
 * ingestion_log.error_code), a sentence for humans and, for 422, every problem with its JSON pointer.
 */
export class HttpError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly problems: readonly Problem[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    {
      problems,
      headers = {},
      cause,
    }: { problems?: readonly Problem[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.problems = problems;
    this.headers = headers;
  }
}

/** The JSON body of every error response. */
export function errorBody(error: HttpError, requestId: string) {
  return {
    error: error.code,
    message: error.message,
    ...(error.problems ? { problems: error.problems } : {}),
    request_id: requestId,
  };
}

export function errorResponse(c: Context, error: HttpError) {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(errorBody(error, c.get('requestId')), error.status);
}

/**
 * Expected failures become their response; a database that is unreachable or asked us to retry is a
 * 503 with Retry-After (the request can succeed later); anything else is logged with its stack and is
 * a plain 500.
 */
export function createErrorHandler(
  log: Logger,
  { retryAfterSeconds = 5 }: { retryAfterSeconds?: number } = {},
): ErrorHandler {
  return (err, c) => {
    if (err instanceof HttpError) return errorResponse(c, err);
    if (isRetryableDatabaseError(err)) {
      log.warn(
        { code: databaseErrorCode(err), requestId: c.get('requestId'), path: c.req.path },
        'database unavailable',
      );
      return errorResponse(
        c,
        new HttpError(503, 'database_unavailable', 'the database is unavailable; try again shortly', {
          headers: { 'Retry-After': String(retryAfterSeconds) },
        }),
      );
    }
    log.error({ err, requestId: c.get('requestId'), path: c.req.path }, 'unhandled error');
    return errorResponse(c, internalError());
  };
}

export function internalError(cause?: unknown): HttpError {
  return new HttpError(500, 'internal_error', 'internal server error; the request id is in the logs', {
    cause,
  });
}
