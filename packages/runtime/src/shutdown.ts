import type { Logger } from 'pino';

export interface ShutdownOptions {
  log: Logger;
  /** Force exit when the handlers take longer than this. */
  timeoutMs?: number;
  signals?: NodeJS.Signals[];
  /** Injectable for tests; defaults to process.exit. */
  exit?: (code: number) => void;
}

/**
 * Runs `stop` once on SIGTERM/SIGINT (systemd and Docker send SIGTERM), then exits 0; exits 1 when it
 * throws or overruns `timeoutMs`, so a wedged process never blocks a restart.
 *
 * @example
 * onShutdown(async () => { await server.close(); await sql.end(); }, { log });
 */
export function onShutdown(stop: (signal: NodeJS.Signals) => Promise<void>, options: ShutdownOptions): void {
  const {
    log,
    timeoutMs = 20_000,
    signals = ['SIGTERM', 'SIGINT'],
    exit = (code) => process.exit(code),
  } = options;
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out; exiting');
      exit(1);
    }, timeoutMs);
    timer.unref();
    stop(signal).then(
      () => {
        clearTimeout(timer);
        log.info('stopped');
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        log.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, handle);
}
