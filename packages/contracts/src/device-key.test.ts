import assert from 'node:assert/strict';
import { createPublicKey, sign, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { createDeviceKey, DeviceSecretError, parseDeviceSecret, publicKeyFingerprint } from './index.ts';

// RFC 8032 §7.1, TEST 2: an Ed25519 private key (seed), its public key and the signature of 0x72.
const RFC_SEED = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const RFC_PUBLIC = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
const RFC_SIGNATURE =
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';
// PKCS#8 wrapping of an Ed25519 seed (RFC 8410 §7): a fixed 16-byte header, then the 32 bytes.
const PKCS8_ED25519_HEADER = '302e020100300506032b657004220420';
const rfcSecret = (code: string) =>
  `ctidk1.${code}.${Buffer.from(PKCS8_ED25519_HEADER + RFC_SEED, 'hex').toString('base64url')}`;

describe('device secrets', () => {
  test('a secret made from the RFC 8032 seed yields the RFC public key and signature', () => {
    const parsed = parseDeviceSecret(`${rfcSecret('dev-0001')}\n`);
    assert.equal(parsed.deviceCode, 'dev-0001');
    // SPKI DER of an Ed25519 key: a 12-byte header, then the raw 32-byte public key.
    assert.equal(parsed.publicKey.subarray(12).toString('hex'), RFC_PUBLIC);
    assert.equal(sign(null, Buffer.from([0x72]), parsed.privateKey).toString('hex'), RFC_SIGNATURE);
    assert.equal(parsed.fingerprint, publicKeyFingerprint(parsed.publicKey));
    assert.match(parsed.fingerprint, /^[0-9a-f]{16}$/);
  });

  test('createDeviceKey: one line naming the device; its private half matches the stored public key', () => {
    const key = createDeviceKey('barn-7_north');
    assert.match(key.secret, /^ctidk1\.barn-7_north\.[A-Za-z0-9_-]{64}$/);
    assert.equal(key.publicKey.length, 44);
    const parsed = parseDeviceSecret(key.secret);
    assert.deepEqual(parsed.publicKey, key.publicKey);
    assert.equal(parsed.fingerprint, key.fingerprint);
    const signature = sign(null, Buffer.from('hello'), parsed.privateKey);
    const stored = createPublicKey({ key: key.publicKey, format: 'der', type: 'spki' });
    assert.ok(verify(null, Buffer.from('hello'), stored, signature));
    assert.notEqual(createDeviceKey('barn-7_north').secret, key.secret, 'every key is new');
  });

  test('malformed secrets are refused with a reason that never echoes the key', () => {
    const good = createDeviceKey('dev-0001').secret;
    const keyPart = good.split('.')[2]!;
    const cases: [string, RegExp][] = [
      ['', /three dot-separated parts and starts with "ctidk1\."/],
      ['hunter2', /three dot-separated parts/],
      [good.replace('ctidk1', 'ctidk2'), /starts with "ctidk1\."/],
      [`${good}.x`, /three dot-separated parts/],
      [good.replace('dev-0001', 'Dev 1'), /"Dev 1" is not a device code/],
      [good.replace(keyPart, `${keyPart.slice(0, 30)}+/=`), /not base64url/],
      [good.replace(keyPart, keyPart.slice(0, 40)), /not a PKCS#8 private key/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseDeviceSecret(text),
        (err: Error) => {
          assert.ok(err instanceof DeviceSecretError, text);
          assert.match(err.message, message);
          assert.ok(!err.message.includes(keyPart.slice(0, 20)), 'the message must not contain the key');
          return true;
        },
      );
    }
  });

  test('createDeviceKey refuses a code that is not a device code', () => {
    assert.throws(() => createDeviceKey('../etc'), /is not a device code/);
  });
});
