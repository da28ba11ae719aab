import { performance } from 'node:perf_hooks';
import { type Logger, silentLogger } from '@cti/runtime';
import type { GpsConfig } from '../config/agent-config.ts';
import { createSerialLines } from '../serial/serial-lines.ts';
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
  const lines = createSerialLines({
    path,
    baudRate,
    what: 'GPS',
    log,
    onLine: (line) => {
      const parsed = parseNmea(line);
      if (parsed) {
        fix = { ...(fix ?? {}), ...parsed };
        fixAt = now();
      }
    },
  });
  const current = () => (fix && now() - fixAt <= maxAgeS * 1000 ? fix : null);
  return {
    current,
    start: lines.start,
    stop: lines.stop,
    status: () => ({ kind: 'nmea', path, connected: lines.connected(), fix: current() }),
  };
}

export function createGpsSource(config: GpsConfig, log?: Logger): GpsSource | null {
  if (!config) return null;
  if (config.kind === 'fixed') return createFixedGps({ lat: config.lat, lon: config.lon });
  return createNmeaGps({ path: config.path, baudRate: config.baudRate, maxAgeS: config.maxAgeS, log });
}
