// What every signed request in CTI has in common — the relay's webhook (HMAC) and a device's
// heartbeat (Ed25519): the same two headers, the same signed message (`<timestamp>.` + the raw body
// bytes) and the same ±tolerance window. Each scheme adds only its own signature algorithm.

/** Header carrying the unix time (seconds) the sender signed at. */
export const TIMESTAMP_HEADER = 'X-CTI-Timestamp';
/** Header carrying `<scheme>=<hex>`: `sha256=` for the webhook's HMAC, `ed25519=` for devices. */
export const SIGNATURE_HEADER = 'X-CTI-Signature';
/** Default accepted clock difference between sender and server, either direction. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type TimestampFailure =
  | 'missing_timestamp'
  | 'malformed_timestamp'
  | 'stale_timestamp'
  | 'future_timestamp';
export type SignatureShapeFailure = 'missing_signature' | 'malformed_signature';
export type Failure<R extends string> = { ok: false; reason: R; message: string };

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The exact bytes a signature covers: `<timestamp>.` followed by the raw body (a string as UTF-8). */
export function signedMessage(timestamp: string, body: string | Uint8Array): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), bytes]);
}

/** A sign-time timestamp as header text; throws on anything but non-negative integer seconds. */
export function timestampText(timestamp: number, who: string): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError(`${who}: timestamp must be a non-negative integer of unix seconds, got ${timestamp}`);
  }
  return String(timestamp);
}

/**
 * The timestamp header present, digits only and within ±`tolerance` seconds of `now`; null when it is.
 * Checked before any signature work, so a stale or replayed request costs no cryptography.
 */
export function checkTimestamp(
  timestamp: string | null | undefined,
  now: number,
  tolerance: number,
): Failure<TimestampFailure> | null {
  const fail = (reason: TimestampFailure, message: string) => ({ ok: false as const, reason, message });
  if (timestamp === null || timestamp === undefined || timestamp === '') {
    return fail('missing_timestamp', `missing ${TIMESTAMP_HEADER} header`);
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return fail(
      'malformed_timestamp',
      `${TIMESTAMP_HEADER} must be unix seconds (digits only), got ${JSON.stringify(timestamp.slice(0, 40))}`,
    );
  }
  const skew = Number(timestamp) - now;
  if (skew < -tolerance)
    return fail('stale_timestamp', `${TIMESTAMP_HEADER} is ${-skew} s in the past (limit ${tolerance} s)`);
  if (skew > tolerance)
    return fail('future_timestamp', `${TIMESTAMP_HEADER} is ${skew} s in the future (limit ${tolerance} s)`);
  return null;
}

/**
 * The signature header's bytes for `scheme` (`sha256` → 32 bytes, `ed25519` → 64 bytes, hex either
 * case), or the reason it is missing or malformed.
 */
export function parseSignatureHeader(
  signature: string | null | undefined,
  scheme: string,
  bytes: number,
): Buffer | Failure<SignatureShapeFailure> {
  if (signature === null || signature === undefined || signature === '') {
    return { ok: false, reason: 'missing_signature', message: `missing ${SIGNATURE_HEADER} header` };
  }
  const match = new RegExp(`^${scheme}=([0-9a-fA-F]{${bytes * 2}})$`).exec(signature.trim());
  if (!match?.[1]) {
    return {
      ok: false,
      reason: 'malformed_signature',
      message: `${SIGNATURE_HEADER} must be "${scheme}=" followed by ${bytes * 2} hex characters`,
    };
  }
  return Buffer.from(match[1], 'hex');
}
