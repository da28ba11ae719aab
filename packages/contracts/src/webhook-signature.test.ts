import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER, verifyWebhookSignature } from './index.ts';

// Expected digests computed independently with OpenSSL, e.g.
//   printf '1700000000.{"hello":"world"}' | openssl dgst -sha256 -hmac whsec_test_1
const BODY = '{"hello":"world"}';
const TS = 1700000000;
const SIG_1 = 'sha256=70f39832166dc2bb9d80c2645052488a115e149671384b25c9f109b3f01f8809';
const SIG_2 = 'sha256=8c97840f94ba5b355b1ff6df3ee2e43eb97eb1d21dcce7800456086177409b5d';

const verify = (o: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
  verifyWebhookSignature({
    body: BODY,
    timestamp: String(TS),
    signature: SIG_1,
    secrets: ['whsec_test_1'],
    now: TS,
    ...o,
  });

describe('signWebhook', () => {
  test('matches an independently computed HMAC-SHA256 over "<timestamp>.<body>"', () => {
    assert.deepEqual(signWebhook({ body: BODY, secret: 'whsec_test_1', timestamp: TS }), {
      [TIMESTAMP_HEADER]: '1700000000',
      [SIGNATURE_HEADER]: SIG_1,
    });
  });

  test('signs raw bytes exactly, including non-UTF-8 bytes', () => {
    const body = new Uint8Array([0xff, 0x00, 0x62, 0x69, 0x6e]);
    const headers = signWebhook({ body, secret: 'k', timestamp: TS });
    assert.equal(
      headers[SIGNATURE_HEADER],
      'sha256=134ee7195fb7076e0202393955fbbadf2a7be79e071c56ad72c9781bb6c05e4c',
    );
  });

  test('a string body and its UTF-8 bytes sign the same', () => {
    const text = '{"farm":"Zürich ✓"}';
    assert.deepEqual(
      signWebhook({ body: text, secret: 's', timestamp: TS }),
      signWebhook({ body: new TextEncoder().encode(text), secret: 's', timestamp: TS }),
    );
  });

  test('defaults the timestamp to the current unix second', () => {
    const before = Math.floor(Date.now() / 1000);
    const ts = Number(signWebhook({ body: BODY, secret: 's' })[TIMESTAMP_HEADER]);
    assert.ok(ts >= before && ts <= Math.floor(Date.now() / 1000));
  });

  test('refuses an empty secret and a non-integer timestamp', () => {
    assert.throws(() => signWebhook({ body: BODY, secret: '' }), /secret must be a non-empty string/);
    assert.throws(() => signWebhook({ body: BODY, secret: 's', timestamp: 1.5 }), /non-negative integer/);
    assert.throws(() => signWebhook({ body: BODY, secret: 's', timestamp: -1 }), /non-negative integer/);
  });
});

describe('verifyWebhookSignature', () => {
  test('accepts a valid signature', () => assert.deepEqual(verify({}), { ok: true, secretIndex: 0 }));

  test('accepts a signature from sign() over bytes', () => {
    const body = Buffer.from(BODY);
    const h = signWebhook({ body, secret: 'x', timestamp: TS });
    assert.deepEqual(
      verify({ body, timestamp: h[TIMESTAMP_HEADER], signature: h[SIGNATURE_HEADER], secrets: ['x'] }),
      { ok: true, secretIndex: 0 },
    );
  });

  test('accepts uppercase hex and surrounding whitespace', () => {
    assert.equal(verify({ signature: ` sha256=${SIG_1.slice(7).toUpperCase()} ` }).ok, true);
  });

  test('rotated secrets: the new one is found at its index, the old one still accepted', () => {
    assert.deepEqual(verify({ signature: SIG_2, secrets: ['whsec_test_1', 'whsec_test_2'] }), {
      ok: true,
      secretIndex: 1,
    });
    assert.deepEqual(verify({ signature: SIG_1, secrets: ['whsec_test_2', 'whsec_test_1'] }), {
      ok: true,
      secretIndex: 1,
    });
  });

  test('the timestamp window is ±300 s inclusive by default and configurable', () => {
    assert.equal(verify({ now: TS + 300 }).ok, true);
    assert.equal(verify({ now: TS - 300 }).ok, true);
    assert.equal(verify({ now: TS + 10, toleranceSeconds: 5 }).ok, false);
  });

  const failures: [string, Parameters<typeof verify>[0], string, RegExp][] = [
    ['tampered body', { body: '{"hello":"World"}' }, 'bad_signature', /does not match/],
    ['tampered body bytes', { body: Buffer.from(`${BODY} `) }, 'bad_signature', /does not match/],
    ['wrong secret', { secrets: ['whsec_wrong'] }, 'bad_signature', /any configured secret/],
    [
      'timestamp changed after signing',
      { timestamp: String(TS + 1), now: TS + 1 },
      'bad_signature',
      /does not match/,
    ],
    [
      'stale timestamp (301 s old)',
      { now: TS + 301 },
      'stale_timestamp',
      /301 s in the past \(limit 300 s\)/,
    ],
    ['future timestamp (301 s ahead)', { now: TS - 301 }, 'future_timestamp', /301 s in the future/],
    ['missing timestamp', { timestamp: undefined }, 'missing_timestamp', /missing X-CTI-Timestamp/],
    ['empty timestamp', { timestamp: '' }, 'missing_timestamp', /missing X-CTI-Timestamp/],
    [
      'timestamp in milliseconds-ish text',
      { timestamp: '1700000000.5' },
      'malformed_timestamp',
      /unix seconds/,
    ],
    ['timestamp as a date', { timestamp: '2023-11-14T22:13:20Z' }, 'malformed_timestamp', /unix seconds/],
    ['negative timestamp', { timestamp: '-1700000000' }, 'malformed_timestamp', /unix seconds/],
    ['missing signature', { signature: null }, 'missing_signature', /missing X-CTI-Signature/],
    [
      'signature without scheme',
      { signature: SIG_1.slice(7) },
      'malformed_signature',
      /"sha256=" followed by 64 hex/,
    ],
    [
      'signature with another scheme',
      { signature: `sha1=${SIG_1.slice(7)}` },
      'malformed_signature',
      /sha256=/,
    ],
    ['signature too short', { signature: SIG_1.slice(0, -2) }, 'malformed_signature', /64 hex/],
    ['signature not hex', { signature: `sha256=${'z'.repeat(64)}` }, 'malformed_signature', /64 hex/],
    ['two signatures', { signature: `${SIG_1},${SIG_2}` }, 'malformed_signature', /64 hex/],
  ];
  for (const [name, overrides, reason, message] of failures) {
    test(`rejects: ${name}`, () => {
      const result = verify(overrides);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.reason, reason);
      assert.match(!result.ok ? result.message : '', message);
    });
  }

  test('refuses to run without a usable secret (a configuration error, not a bad request)', () => {
    assert.throws(() => verify({ secrets: [] }), /at least one secret/);
    assert.throws(() => verify({ secrets: ['ok', ''] }), /secrets\[1\] must be a non-empty string/);
  });
});
