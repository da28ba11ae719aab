import type { Logger } from 'pino';
import type { Sql } from 'postgres';

export type Rejection = {
  deviceCode: string;
  httpStatus: number;
  errorCode: string;
  message: string;
  requestId: string;
  remoteAddr: string | null;
};

/** Claimed values are attacker-controlled: bounded, and without U+0000 (Postgres text cannot hold it). */
const clean = (s: string, max: number) => s.slice(0, max).replaceAll('\u0000', '\uFFFD');

/**
 * One device_request_rejections row per refused device request (the operator's trail of a
 * misconfigured or impersonated Pi). Failing to write it (database down) is logged, never raised: the
 * caller still answers its 4xx.
 */
export async function logRejection(sql: Sql, log: Logger, r: Rejection): Promise<void> {
  try {
    await sql`
      INSERT INTO device_request_rejections (device_code, http_status, error_code, message, request_id, remote_addr)
      VALUES (${clean(r.deviceCode, 64)}, ${r.httpStatus}, ${r.errorCode}, ${clean(r.message, 1000)},
              ${clean(r.requestId, 200)}, ${r.remoteAddr})`;
  } catch (err) {
    log.warn({ err: (err as Error).message, rejection: r }, 'could not record a refused device request');
  }
}
