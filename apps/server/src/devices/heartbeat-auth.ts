import { createHash } from 'node:crypto';
import {
  checkDeviceSignatureHeaders,
  DEVICE_HEADER,
  isValidDeviceCode,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyDeviceSignature,
} from '@cti/contracts';
import type { Sql } from 'postgres';
import { HttpError } from '../errors.ts';
import { type CurrentKey, currentKeys } from './device-keys.ts';
import { retiredError } from './heartbeat-store.ts';

export type AuthenticatedDevice = {
  deviceId: string;
  deviceCode: string;
  key: CurrentKey;
  signature: Buffer;
};

/**
 * Who sent this request: the device named by X-CTI-Device, proven by a signature over the raw body
 * with one of ITS current keys (so one Pi's key can never speak for another). Cheap checks first
 * (header shapes) so malformed requests cost no database round trip. Every failure is a 401 whose
 * code says what was wrong.
 *
 * A timestamp outside the ±tolerance window is still refused, but only called the Pi's clock
 * (stale_timestamp / future_timestamp, which the fleet words as "set the Pi's clock") when the
 * signature over it verifies with the device's current key: the signature covers the timestamp, so
 * only the Pi can have made it. Unsigned, it is the refusal the signature earns (bad_signature, "or
 * another device using its name"): anyone can send a stale timestamp with a made-up signature
 * (review r13 F3). A verified one whose signature was already accepted is a replay (409), not a clock.
 */
export async function authenticateDevice({
  sql,
  body,
  header,
  now,
  toleranceSeconds,
}: {
  sql: Sql;
  body: Uint8Array;
  header: (name: string) => string | undefined;
  now: Date;
  toleranceSeconds: number;
}): Promise<AuthenticatedDevice> {
  const deviceCode = header(DEVICE_HEADER);
  if (!deviceCode) throw new HttpError(401, 'missing_device', `missing ${DEVICE_HEADER} header`);
  if (!isValidDeviceCode(deviceCode)) {
    throw new HttpError(401, 'malformed_device', `${DEVICE_HEADER} is not a device code`);
  }
  const timestamp = header(TIMESTAMP_HEADER);
  const signature = header(SIGNATURE_HEADER);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const shape = checkDeviceSignatureHeaders({ timestamp, signature, now: nowSeconds, toleranceSeconds });
  const clockProblem =
    shape?.reason === 'stale_timestamp' || shape?.reason === 'future_timestamp' ? shape : null;
  if (shape && !clockProblem) throw new HttpError(401, shape.reason, shape.message);
  // Out of the window: the signature is checked as of its own timestamp, then the window refuses it.
  const checkedAt = clockProblem ? Number(timestamp) : nowSeconds;
  if (clockProblem) {
    const sigShape = checkDeviceSignatureHeaders({ timestamp, signature, now: checkedAt, toleranceSeconds });
    if (sigShape) throw new HttpError(401, sigShape.reason, sigShape.message);
  }
  const device = await currentKeys(sql, deviceCode);
  if (!device) {
    throw new HttpError(
      401,
      'unknown_device',
      `no device ${deviceCode}; an admin creates it with \`cti-server device add\``,
    );
  }
  // Before the keys: a retired device has none, and its refusal should say why (review r11 F7).
  if (device.retiredAt) throw retiredError(deviceCode, device.retiredAt);
  if (device.keys.length === 0) {
    throw new HttpError(
      401,
      'no_device_key',
      `device ${deviceCode} has no current key; an admin issues one with \`cti-server device add\` or \`rotate-secret\``,
    );
  }
  const verified = verifyDeviceSignature({
    body,
    timestamp,
    signature,
    publicKeys: device.keys.map((k) => k.publicKey),
    now: checkedAt,
    toleranceSeconds,
  });
  if (!verified.ok) {
    const when = clockProblem ? ` (and ${clockProblem.message})` : '';
    throw new HttpError(401, verified.reason, `${verified.message}${when}`);
  }
  const signatureBytes = Buffer.from(signature!.trim().slice('ed25519='.length), 'hex');
  if (clockProblem) {
    if (await wasAccepted(sql, device.deviceId, signatureBytes)) {
      throw new HttpError(
        409,
        'replayed_request',
        `this signed heartbeat was already received (a replay); ${clockProblem.message}`,
      );
    }
    throw new HttpError(401, clockProblem.reason, clockProblem.message);
  }
  return {
    deviceId: device.deviceId,
    deviceCode,
    key: device.keys[verified.keyIndex]!,
    signature: signatureBytes,
  };
}

/** A heartbeat with this signature is in the device's history (device_heartbeats' replay key). */
async function wasAccepted(sql: Sql, deviceId: string, signature: Buffer): Promise<boolean> {
  const digest = createHash('sha256').update(signature).digest();
  const [row] = await sql`
    SELECT 1 FROM device_heartbeats WHERE device_id = ${deviceId} AND signature_sha256 = ${digest} LIMIT 1`;
  return row !== undefined;
}
