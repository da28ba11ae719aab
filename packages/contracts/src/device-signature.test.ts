import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  createDeviceKey,
  DEVICE_HEADER,
  parseDeviceSecret,
  SIGNATURE_HEADER,
  signDeviceRequest,
  TIMESTAMP_HEADER,
  verifyDeviceSignature,
} from './index.ts';

const TS = 1_760_000_000;
const BODY = '{"device_code":"dev-a","uptime_s":1}';
const deviceA = parseDeviceSecret(createDeviceKey('dev-a').secret);
const deviceB = parseDeviceSecret(createDeviceKey('dev-b').secret);

const signedBy = (key = deviceA, body: string | Uint8Array = BODY, timestamp = TS) =>
  signDeviceRequest({ body, deviceCode: key.deviceCode, privateKey: key.privateKey, timestamp });

const check = (
  headers: Record<string, string>,
  publicKeys: Uint8Array[],
  o: { body?: string; now?: number } = {},
) =>
  verifyDeviceSignature({
    body: o.body ?? BODY,
    timestamp: headers[TIMESTAMP_HEADER],
    signature: headers[SIGNATURE_HEADER],
    publicKeys,
    now: o.now ?? TS,
  });

describe('device request signatures (Ed25519 over "<timestamp>." + body)', () => {
  test('the headers: device, timestamp and ed25519= over exactly "<timestamp>.<body>"', () => {
    const headers = signedBy();
    assert.equal(headers[DEVICE_HEADER], 'dev-a');
    assert.equal(headers[TIMESTAMP_HEADER], String(TS));
    const match = /^ed25519=([0-9a-f]{128})$/.exec(headers[SIGNATURE_HEADER]);
    assert.ok(match);
    // Checked with node:crypto directly over the documented message, not through our verifier.
    const key = createPublicKey({ key: deviceA.publicKey, format: 'der', type: 'spki' });
    assert.ok(verify(null, Buffer.from(`${TS}.${BODY}`), key, Buffer.from(match[1]!, 'hex')));
  });

  test("the device's own key verifies; a string body and its UTF-8 bytes sign the same", () => {
    assert.deepEqual(check(signedBy(), [deviceA.publicKey]), { ok: true, keyIndex: 0 });
    assert.deepEqual(signedBy(deviceA, Buffer.from(BODY)), signedBy(deviceA, BODY));
  });

  test("device A's key cannot sign for device B", () => {
    const forged = { ...signedBy(deviceA), [DEVICE_HEADER]: 'dev-b' };
    const v = check(forged, [deviceB.publicKey]);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.reason, 'bad_signature');
  });

  test('rotation: either current key verifies and keyIndex says which', () => {
    const next = parseDeviceSecret(createDeviceKey('dev-a').secret);
    assert.deepEqual(check(signedBy(next), [deviceA.publicKey, next.publicKey]), { ok: true, keyIndex: 1 });
    assert.deepEqual(check(signedBy(deviceA), [deviceA.publicKey, next.publicKey]), {
      ok: true,
      keyIndex: 0,
    });
    assert.equal(check(signedBy(deviceA), [next.publicKey]).ok, false);
  });

  test('an altered body, a moved timestamp or a flipped signature bit fails', () => {
    const headers = signedBy();
    assert.equal(check(headers, [deviceA.publicKey], { body: BODY.replace('1', '2') }).ok, false);
    const moved = { ...headers, [TIMESTAMP_HEADER]: String(TS + 1) };
    assert.equal(check(moved, [deviceA.publicKey]).ok, false);
    const sig = headers[SIGNATURE_HEADER];
    const flipped = { ...headers, [SIGNATURE_HEADER]: `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}` };
    assert.equal(check(flipped, [deviceA.publicKey]).ok, false);
  });

  test('a replayed old request is refused by its timestamp before any signature work', () => {
    const old = signedBy(deviceA, BODY, TS - 301);
    const v = check(old, [deviceA.publicKey]);
    assert.deepEqual(v, {
      ok: false,
      reason: 'stale_timestamp',
      message: 'X-CTI-Timestamp is 301 s in the past (limit 300 s)',
    });
    assert.equal(check(signedBy(deviceA, BODY, TS - 300), [deviceA.publicKey]).ok, true, 'inclusive window');
    const future = check(signedBy(deviceA, BODY, TS + 301), [deviceA.publicKey]);
    assert.equal(!future.ok && future.reason, 'future_timestamp');
  });

  test('missing or malformed headers name the problem', () => {
    const reasons = (headers: Record<string, string | undefined>) => {
      const v = verifyDeviceSignature({
        body: BODY,
        timestamp: headers.ts,
        signature: headers.sig,
        publicKeys: [deviceA.publicKey],
        now: TS,
      });
      return v.ok ? 'ok' : v.reason;
    };
    const sig = signedBy()[SIGNATURE_HEADER];
    assert.equal(reasons({ sig }), 'missing_timestamp');
    assert.equal(reasons({ ts: '17e8', sig }), 'malformed_timestamp');
    assert.equal(reasons({ ts: String(TS) }), 'missing_signature');
    assert.equal(reasons({ ts: String(TS), sig: sig.replace('ed25519=', 'sha256=') }), 'malformed_signature');
    assert.equal(reasons({ ts: String(TS), sig: sig.slice(0, -2) }), 'malformed_signature');
    assert.equal(reasons({ ts: String(TS), sig: sig.toUpperCase().replace('ED25519=', 'ed25519=') }), 'ok');
  });

  test('no keys at all verifies nothing', () => {
    const v = check(signedBy(), []);
    assert.equal(!v.ok && v.reason, 'bad_signature');
  });
});
