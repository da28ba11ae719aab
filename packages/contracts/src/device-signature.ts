import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import {
  checkTimestamp,
  DEFAULT_TOLERANCE_SECONDS,
  type Failure,
  nowSeconds,
  parseSignatureHeader,
  SIGNATURE_HEADER,
  type SignatureShapeFailure,
  signedMessage,
  TIMESTAMP_HEADER,
  type TimestampFailure,
  timestampText,
} from './signed-request.ts';

/** Header naming the device a request speaks for; the server checks the signature with its keys only. */
export const DEVICE_HEADER = 'X-CTI-Device';

export type DeviceRequestHeaders = {
  'X-CTI-Device': string;
  'X-CTI-Timestamp': string;
  'X-CTI-Signature': string;
};

export type DeviceSignatureFailure = TimestampFailure | SignatureShapeFailure | 'bad_signature';

export type DeviceSignatureVerification = { ok: true; keyIndex: number } | Failure<DeviceSignatureFailure>;

const ED25519_SIGNATURE_BYTES = 64;

/**
 * Sign a device request the way the relay signs webhooks — `X-CTI-Timestamp` and a signature over
 * `<timestamp>.` + the exact body bytes — but with the device's Ed25519 private key
 * (`X-CTI-Signature: ed25519=<128 hex>`), plus `X-CTI-Device` naming the device.
 *
 * @example
 * const body = JSON.stringify(heartbeat);
 * const headers = signDeviceRequest({ body, deviceCode: secret.deviceCode, privateKey: secret.privateKey });
 */
export function signDeviceRequest({
  body,
  deviceCode,
  privateKey,
  timestamp = nowSeconds(),
}: {
  body: string | Uint8Array;
  deviceCode: string;
  privateKey: KeyObject;
  timestamp?: number;
}): DeviceRequestHeaders {
  const ts = timestampText(timestamp, 'signDeviceRequest');
  const signature = sign(null, signedMessage(ts, body), privateKey);
  return {
    [DEVICE_HEADER]: deviceCode,
    [TIMESTAMP_HEADER]: ts,
    [SIGNATURE_HEADER]: `ed25519=${signature.toString('hex')}`,
  } as DeviceRequestHeaders;
}

/**
 * The checks that need no key: timestamp present, digits, within ±tolerance; signature header
 * `ed25519=` + 128 hex. A server runs them before looking the device up. Null when they pass.
 */
export function checkDeviceSignatureHeaders({
  timestamp,
  signature,
  now = nowSeconds(),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
}: {
  timestamp: string | null | undefined;
  signature: string | null | undefined;
  now?: number;
  toleranceSeconds?: number;
}): Failure<TimestampFailure | SignatureShapeFailure> | null {
  const stale = checkTimestamp(timestamp, now, toleranceSeconds);
  if (stale) return stale;
  const parsed = parseSignatureHeader(signature, 'ed25519', ED25519_SIGNATURE_BYTES);
  return Buffer.isBuffer(parsed) ? null : parsed;
}

/**
 * Verify a device request against the public keys of the device it names (SPKI DER, e.g. the current
 * and, during a rotation overlap, the previous one). `keyIndex` tells which key signed. A key of
 * another device never verifies: the caller passes only the named device's keys.
 *
 * @example
 * const v = verifyDeviceSignature({ body: raw, timestamp, signature, publicKeys: keys.map((k) => k.public_key) });
 * if (!v.ok) throw new HttpError(401, v.reason, v.message);
 */
export function verifyDeviceSignature({
  body,
  timestamp,
  signature,
  publicKeys,
  now = nowSeconds(),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
}: {
  body: string | Uint8Array;
  timestamp: string | null | undefined;
  signature: string | null | undefined;
  publicKeys: readonly Uint8Array[];
  now?: number;
  toleranceSeconds?: number;
}): DeviceSignatureVerification {
  const problem = checkDeviceSignatureHeaders({ timestamp, signature, now, toleranceSeconds });
  if (problem) return problem;
  const given = parseSignatureHeader(signature, 'ed25519', ED25519_SIGNATURE_BYTES) as Buffer;
  const message = signedMessage(timestamp as string, body);
  const keyIndex = publicKeys.findIndex((der) =>
    verify(null, message, createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }), given),
  );
  if (keyIndex === -1) {
    return {
      ok: false,
      reason: 'bad_signature',
      message: `${SIGNATURE_HEADER} does not match the body and timestamp for any current key of this device`,
    };
  }
  return { ok: true, keyIndex };
}
