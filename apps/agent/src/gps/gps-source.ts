import { performance } from 'node:perf_hooks';
import { backoffDelay, type Logger, silentLogger, sleep } from '@cti/runtime';
import { ReadlineParser, SerialPort } from 'serialport';
import type { GpsConfig } from '../config/agent-config.ts';
import { type GpsFix, parseNmea } from './nmea.ts';

export type GpsSource = {
  current(): GpsFix | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Record<string, unknown>;
};

/** A fixed position from the config (a chute that never moves). */
export function createFixedGps(fix: GpsFix): GpsSource {
  return {
    current: () => fix,
    start: async () => {},
    stop: async () => {},
    status: () => ({ kind: 'fixed', fix }),
  };
}

/**
 * The latest fix from an NMEA GPS on a serial port; a fix older than `maxAgeS` is not reported (the
 * receiver lost the sky), so meta.json gets `gps: null` rather than a stale position. Reopens the port
 * with backoff when the receiver is unplugged.
 */
export function createNmeaGps({
  path,
  baudRate = 9600,
  maxAgeS = 30,
  log = silentLogger(),
  now = () => performance.now(),
}: {
  path: string;
  baudRate?: number;
  maxAgeS?: number;
  log?: Logger;
  now?: () => number;
}): GpsSource {
  let fix: GpsFix | null = null;
  let fixAt = 0;
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
        port = p;
        attempt = 0;
        const lines = p.pipe(new ReadlineParser({ delimiter: '\n' }));
        lines.on('data', (line: string) => {
          const parsed = parseNmea(line);
          if (parsed) {
            fix = { ...(fix ?? {}), ...parsed };
            fixAt = now();
          }
        });
        p.on('error', () => {});
        await new Promise<void>((resolve) => p.once('close', () => resolve()));
        port = null;
      } catch (err) {
        if (attempt === 0) log.warn({ path, err: (err as Error).message }, 'GPS not available; retrying');
      }
      await sleep(backoffDelay(attempt++, { baseMs: 500, capMs: 10_000 }), abort.signal).catch(() => {});
    }
  };

  const current = () => (fix && now() - fixAt <= maxAgeS * 1000 ? fix : null);
  return {
    current,
    async start() {
      loop ??= run();
    },
    async stop() {
      abort.abort();
      const p = port;
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
      await loop;
    },
    status: () => ({ kind: 'nmea', path, connected: port?.isOpen === true, fix: current() }),
  };
}

export function createGpsSource(config: GpsConfig, log?: Logger): GpsSource | null {
  if (!config) return null;
  if (config.kind === 'fixed') return createFixedGps({ lat: config.lat, lon: config.lon });
  return createNmeaGps({ path: config.path, baudRate: config.baudRate, maxAgeS: config.maxAgeS, log });
}
