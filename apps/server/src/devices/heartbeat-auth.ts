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
 * (header shapes, the ±tolerance timestamp window) so stale or malformed requests cost no database
 * round trip. Every failure is a 401 whose code says what was wrong.
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
  if (shape) throw new HttpError(401, shape.reason, shape.message);
  const device = await currentKeys(sql, deviceCode, now);
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
    now: nowSeconds,
    toleranceSeconds,
  });
  if (!verified.ok) throw new HttpError(401, verified.reason, verified.message);
  return {
    deviceId: device.deviceId,
    deviceCode,
    key: device.keys[verified.keyIndex]!,
    signature: Buffer.from(signature!.trim().slice('ed25519='.length), 'hex'),
  };
}
