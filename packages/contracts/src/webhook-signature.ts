import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the unix time (seconds) the relay signed at. */
export const TIMESTAMP_HEADER = 'X-CTI-Timestamp';
/** Header carrying `sha256=<64 hex>`: HMAC-SHA256 over `${timestamp}.${raw body bytes}`. */
export const SIGNATURE_HEADER = 'X-CTI-Signature';
/** Default accepted clock difference between relay and server, either direction. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export type WebhookSignatureHeaders = { 'X-CTI-Timestamp': string; 'X-CTI-Signature': string };

export type SignatureFailure =
  | 'missing_timestamp'
  | 'malformed_timestamp'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'missing_signature'
  | 'malformed_signature'
  | 'bad_signature';

export type SignatureVerification =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: SignatureFailure; message: string };

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function hmac(secret: string, timestamp: string, body: string | Uint8Array): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(bytes).digest();
}

function checkSecret(secret: unknown, what: string): void {
  if (typeof secret !== 'string' || secret.length === 0)
    throw new TypeError(`${what} must be a non-empty string`);
}

/**
 * Sign a webhook body: returns the two headers a relay sends with it. The HMAC covers the exact
 * bytes given (a string is encoded as UTF-8), so send the very same bytes.
 *
 * @example
 * const body = JSON.stringify(payload);
 * await fetch(url, { method: 'POST', body, headers: { ...signWebhook({ body, secret }), 'content-type': 'application/json' } });
 */
export function signWebhook({
  body,
  secret,
  timestamp = nowSeconds(),
}: {
  body: string | Uint8Array;
  secret: string;
  timestamp?: number;
}): WebhookSignatureHeaders {
  checkSecret(secret, 'signWebhook: secret');
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new TypeError(
      `signWebhook: timestamp must be a non-negative integer of unix seconds, got ${timestamp}`,
    );
  }
  const ts = String(timestamp);
  return {
    [TIMESTAMP_HEADER]: ts,
    [SIGNATURE_HEADER]: `sha256=${hmac(secret, ts, body).toString('hex')}`,
  } as WebhookSignatureHeaders;
}

function fail(reason: SignatureFailure, message: string): SignatureVerification {
  return { ok: false, reason, message };
}

function checkTimestamp(
  timestamp: string | null | undefined,
  now: number,
  tolerance: number,
): SignatureVerification | null {
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
 * Verify a webhook's signature headers against the raw body and any of `secrets` (key rotation:
 * list the new secret and the old one until every relay signs with the new one). Checks header
 * shape, then the ±`toleranceSeconds` window, then the HMAC with a constant-time comparison.
 *
 * @example
 * const v = verifyWebhookSignature({ body: rawBytes, timestamp: req.header(TIMESTAMP_HEADER),
 *   signature: req.header(SIGNATURE_HEADER), secrets: config.webhookSecrets });
 * if (!v.ok) return c.json({ error: v.reason, message: v.message }, 401);
 */
export function verifyWebhookSignature({
  body,
  timestamp,
  signature,
  secrets,
  now = nowSeconds(),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
}: {
  body: string | Uint8Array;
  timestamp: string | null | undefined;
  signature: string | null | undefined;
  secrets: readonly string[];
  now?: number;
  toleranceSeconds?: number;
}): SignatureVerification {
  if (secrets.length === 0) throw new TypeError('verifyWebhookSignature: at least one secret is required');
  for (const [i, secret] of secrets.entries()) checkSecret(secret, `verifyWebhookSignature: secrets[${i}]`);
  const timestampProblem = checkTimestamp(timestamp, now, toleranceSeconds);
  if (timestampProblem) return timestampProblem;
  if (signature === null || signature === undefined || signature === '') {
    return fail('missing_signature', `missing ${SIGNATURE_HEADER} header`);
  }
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(signature.trim());
  if (!match?.[1])
    return fail('malformed_signature', `${SIGNATURE_HEADER} must be "sha256=" followed by 64 hex characters`);
  const given = Buffer.from(match[1], 'hex');
  // Compare against every secret (no early exit) so timing does not reveal which one matched.
  let secretIndex = -1;
  for (const [i, secret] of secrets.entries()) {
    if (timingSafeEqual(hmac(secret, timestamp as string, body), given) && secretIndex === -1)
      secretIndex = i;
  }
  if (secretIndex === -1)
    return fail(
      'bad_signature',
      `${SIGNATURE_HEADER} does not match the body and timestamp for any configured secret`,
    );
  return { ok: true, secretIndex };
}
