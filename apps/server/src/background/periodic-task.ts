import type { Logger } from 'pino';
import { isRetryableDatabaseError } from '../db/database-errors.ts';

/** SQLSTATE query_canceled: the statement ran past statement_timeout or was cancelled; not an outage. */
const QUERY_CANCELED = '57014';

export type PeriodicTask = { stop(): Promise<void> };

/**
 * Run `run` now and then every `intervalMs` after the previous run ended (never two at once). A failure
 * is logged (a database outage or a cancelled statement as a warning, each named for what it is) and the
 * next run comes at its time. `stop` waits for a
 * run in progress, so the pool can be closed after it.
 *
 * @example const task = startPeriodicTask({ name: 'fleet-check', intervalMs: 60_000, run, log });
 */
export function startPeriodicTask({
  name,
  intervalMs,
  run,
  log,
}: {
  name: string;
  intervalMs: number;
  run: () => Promise<void>;
  log: Logger;
}): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    current = run()
      .catch((err: unknown) => {
        if ((err as { code?: unknown }).code === QUERY_CANCELED)
          log.warn(
            { task: name, err: (err as Error).message },
            'periodic task: statement cancelled (statement_timeout or pg_cancel_backend); the database is up',
          );
        else if (isRetryableDatabaseError(err))
          log.warn({ task: name, err: (err as Error).message }, 'periodic task: database unavailable');
        else log.error({ task: name, err }, 'periodic task failed');
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs).unref();
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
