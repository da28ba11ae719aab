import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { DEVICE_CODE_PATTERN } from './patterns.ts';

// A device's credential is an Ed25519 key pair (docs/adr/0002-device-authentication.md): the device
// keeps the private key (the "device secret", printed once by `cti-server device add`), the server
// stores only the public key, so a copy of the database cannot sign for any device.

/** Version prefix of the secret's text form; a future format gets a new prefix. */
export const DEVICE_SECRET_PREFIX = 'ctidk1';

/** The secret is malformed or is not an Ed25519 private key. The message never contains the secret. */
export class DeviceSecretError extends Error {
  override name = 'DeviceSecretError';
}

/** A device's private key as the agent holds it. */
export type DeviceSecret = {
  deviceCode: string;
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER (44 bytes): what the server stores. */
  publicKey: Buffer;
  fingerprint: string;
};

/** A newly minted key: `secret` is shown once and never stored by the server. */
export type NewDeviceKey = { deviceCode: string; secret: string; publicKey: Buffer; fingerprint: string };

const deviceCode = new RegExp(DEVICE_CODE_PATTERN);

/** Short, stable name of a public key for logs and listings: 16 hex of sha256(SPKI DER). */
export function publicKeyFingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

function checkDeviceCode(code: string, who: string): void {
  if (!deviceCode.test(code)) {
    throw new DeviceSecretError(`${who}: ${JSON.stringify(code.slice(0, 70))} is not a device code`);
  }
}

/**
 * Mint a key pair for a device. The secret reads `ctidk1.<device_code>.<base64url PKCS#8 DER>` (one
 * line, ~80 characters), so it can be pasted into a file and the agent can tell a secret made for
 * another device before it sends anything.
 *
 * @example const { secret, publicKey, fingerprint } = createDeviceKey('dev-0001');
 */
export function createDeviceKey(code: string): NewDeviceKey {
  checkDeviceCode(code, 'createDeviceKey');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    deviceCode: code,
    secret: `${DEVICE_SECRET_PREFIX}.${code}.${pkcs8.toString('base64url')}`,
    publicKey: spki,
    fingerprint: publicKeyFingerprint(spki),
  };
}

/**
 * Read a device secret (surrounding whitespace ignored). Throws DeviceSecretError naming what is
 * wrong — wrong prefix, bad device code, not base64url, not an Ed25519 private key — never the secret.
 *
 * @example const { privateKey, deviceCode } = parseDeviceSecret(readFileSync(file, 'utf8'));
 */
export function parseDeviceSecret(text: string): DeviceSecret {
  const parts = text.trim().split('.');
  if (parts.length !== 3 || parts[0] !== DEVICE_SECRET_PREFIX) {
    throw new DeviceSecretError(
      `a device secret has three dot-separated parts and starts with "${DEVICE_SECRET_PREFIX}." (as printed by \`cti-server device add\`)`,
    );
  }
  const [, code = '', encoded = ''] = parts;
  checkDeviceCode(code, 'device secret');
  if (!/^[A-Za-z0-9_-]+$/.test(encoded))
    throw new DeviceSecretError('the key part of the device secret is not base64url');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(encoded, 'base64url'), format: 'der', type: 'pkcs8' });
  } catch {
    throw new DeviceSecretError(
      'the key part of the device secret is not a PKCS#8 private key (truncated or altered?)',
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new DeviceSecretError(
      `the device secret holds a ${privateKey.asymmetricKeyType} key; expected ed25519`,
    );
  }
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { deviceCode: code, privateKey, publicKey, fingerprint: publicKeyFingerprint(publicKey) };
}
