import { backoffDelay, type Logger, silentLogger, sleep } from '@cti/runtime';
import { SerialPort } from 'serialport';
import { createLineSplitter } from './line-splitter.ts';

export type SerialLines = {
  start(): Promise<void>;
  stop(): Promise<void>;
  connected(): boolean;
};

/**
 * Text lines from a serial device (GPS receiver, ear-tag reader) that may be unplugged and plugged
 * back at any time: opens the port, hands every line to `onLine`, and reopens it with capped backoff
 * when it closes or cannot be opened (logged once per outage, as `what`).
 *
 * @example const lines = createSerialLines({ path: '/dev/cti-gps', baudRate: 9600, what: 'GPS', onLine });
 */
export function createSerialLines({
  path,
  baudRate,
  what,
  onLine,
  onConnect = () => {},
  log = silentLogger(),
}: {
  path: string;
  baudRate: number;
  what: string;
  onLine: (line: string) => void;
  onConnect?: () => void;
  log?: Logger;
}): SerialLines {
  let port: SerialPort | null = null;
  const abort = new AbortController();
  let loop: Promise<void> | null = null;

  const run = async () => {
    for (let attempt = 0; !abort.signal.aborted; ) {
      try {
        const p = await new Promise<SerialPort>((resolve, reject) => {
          const sp = new SerialPort({ path, baudRate, autoOpen: false });
          sp.open((err) => (err ? reject(err) : resolve(sp)));
        });
        if (abort.signal.aborted) {
          // stop() ran while the open was in flight: nobody would close this port, and waiting for
          // its 'close' below hung stop() (and the agent's shutdown) for ever.
          await new Promise<void>((resolve) => p.close(() => resolve()));
          break;
        }
        port = p;
        if (attempt > 0) log.info({ path }, `${what} connected`);
        attempt = 0;
        onConnect();
        p.pipe(createLineSplitter()).on('data', (line: string) => onLine(line));
        // Why the device went (the disconnect's own error, else the port's last error) goes into the
        // journal: an operator otherwise sees "disconnected" with no cause.
        let lastError: string | undefined;
        p.on('error', (err: Error) => {
          lastError = err.message;
        });
        const closedBy = await new Promise<Error | null>((resolve) =>
          p.once('close', (err: Error | null) => resolve(err ?? null)),
        );
        port = null;
        if (!abort.signal.aborted)
          log.warn({ path, err: closedBy?.message ?? lastError }, `${what} disconnected; reconnecting`);
      } catch (err) {
        if (attempt === 0) log.warn({ path, err: (err as Error).message }, `${what} not available; retrying`);
      }
      await sleep(backoffDelay(attempt++, { baseMs: 500, capMs: 10_000 }), abort.signal).catch(() => {});
    }
  };

  return {
    async start() {
      loop ??= run();
    },
    async stop() {
      abort.abort();
      const p = port;
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
      await loop;
    },
    connected: () => port?.isOpen === true,
  };
}
