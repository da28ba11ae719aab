import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  nowSeconds,
  parseSignatureHeader,
  SIGNATURE_HEADER,
  type SignatureShapeFailure,
  signedMessage,
  TIMESTAMP_HEADER,
  type TimestampFailure,
  timestampText,
} from './signed-request.ts';

export { DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signed-request.ts';

export type WebhookSignatureHeaders = { 'X-CTI-Timestamp': string; 'X-CTI-Signature': string };

export type SignatureFailure = TimestampFailure | SignatureShapeFailure | 'bad_signature';

export type SignatureVerification =
  | { ok: true; secretIndex: number }
  | { ok: false; reason: SignatureFailure; message: string };

function hmac(secret: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(signedMessage(timestamp, body)).digest();
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
  const ts = timestampText(timestamp, 'signWebhook');
  return {
    [TIMESTAMP_HEADER]: ts,
    [SIGNATURE_HEADER]: `sha256=${hmac(secret, ts, body).toString('hex')}`,
  } as WebhookSignatureHeaders;
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
  const given = parseSignatureHeader(signature, 'sha256', 32);
  if (!Buffer.isBuffer(given)) return given;
  // Compare against every secret (no early exit) so timing does not reveal which one matched.
  let secretIndex = -1;
  for (const [i, secret] of secrets.entries()) {
    if (timingSafeEqual(hmac(secret, timestamp as string, body), given) && secretIndex === -1)
      secretIndex = i;
  }
  if (secretIndex === -1)
    return {
      ok: false,
      reason: 'bad_signature',
      message: `${SIGNATURE_HEADER} does not match the body and timestamp for any configured secret`,
    };
  return { ok: true, secretIndex };
}
