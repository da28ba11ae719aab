import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exampleMeta, exampleWebhookBody } from './testing.ts';

// The built program, as ops run it (turbo builds before test; run `pnpm build` when running by hand).
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cti-contracts-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('cti-contracts validate', () => {
  test('valid meta and webhook fixtures: exit 0, "valid"', () => {
    assert.deepEqual(run(['validate', 'meta', join(FIXTURES, 'example-meta.json')]), {
      code: 0,
      stdout: 'valid\n',
      stderr: '',
    });
    assert.deepEqual(run(['validate', 'webhook', join(FIXTURES, 'example-webhook-body.json')]), {
      code: 0,
      stdout: 'valid\n',
      stderr: '',
    });
  });

  test('invalid document: exit 1, one line per problem', () => {
    assert.deepEqual(run(['validate', 'meta', join(FIXTURES, 'invalid-meta-gps-lat.json')]), {
      code: 1,
      stdout: '/gps/lat: must be <= 90\n',
      stderr: '',
    });
    const bad = file(
      'bad-body.json',
      JSON.stringify(
        exampleWebhookBody({ bucket: 'B', meta_json: exampleMeta({ gps: { lat: 0, lon: 181 } }) }),
      ),
    );
    const r = run(['validate', 'webhook', bad]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '/bucket: must be an S3 bucket name (3-63 of a-z 0-9 . -)',
      '/meta_json/gps/lon: must be <= 180',
    ]);
  });

  test('accepts a UTF-8 byte-order mark', () => {
    assert.equal(
      run(['validate', 'meta', file('bom.json', `\uFEFF${JSON.stringify(exampleMeta())}`)]).stdout,
      'valid\n',
    );
  });

  test('reads standard input for "-"', () => {
    assert.equal(run(['validate', 'meta', '-'], JSON.stringify(exampleMeta())).stdout, 'valid\n');
  });

  test('unknown properties are accepted with a warning on stderr', () => {
    const path = file(
      'extra.json',
      JSON.stringify(exampleMeta({ captured_on: 'typo', gps: { lat: 1, lon: 2, hdop: 0.9 } })),
    );
    const r = run(['validate', 'meta', path]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'valid\n');
    assert.match(r.stderr, /^warning: \/captured_on: unknown property/m);
    assert.match(r.stderr, /^warning: \/gps\/hdop: unknown property/m);
  });

  test('unreadable file: exit 2 with the reason', () => {
    const r = run(['validate', 'meta', join(dir, 'missing.json')]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^cti-contracts: cannot read .*missing\.json: ENOENT: no such file or directory/);
  });

  test('malformed JSON: exit 2 naming the file', () => {
    const r = run(['validate', 'webhook', file('broken.json', '{"bucket": ')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^cti-contracts: .*broken\.json is not valid JSON: /);
    assert.doesNotMatch(r.stderr, /Usage:/);
  });

  const usageErrors: [string, string[]][] = [
    ['no command', []],
    ['unknown command', ['check', 'meta', 'x.json']],
    ['unknown kind', ['validate', 'config', 'x.json']],
    ['missing file', ['validate', 'meta']],
    ['too many files', ['validate', 'meta', 'a.json', 'b.json']],
    ['unknown option', ['validate', '--strict', 'meta', 'a.json']],
  ];
  for (const [name, args] of usageErrors) {
    test(`usage error (${name}): exit 2 with usage text`, () => {
      const r = run(args);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^cti-contracts: .+\nUsage:\n {2}cti-contracts validate meta <file>/);
    });
  }

  test('an unknown option is one short line naming it, then the usage, exit 2', () => {
    for (const args of [['--x'], ['validate', '--x', 'meta', 'a.json'], ['sign', '--x', 'body.json']]) {
      const r = run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^cti-contracts: unknown option "--x"\nUsage:\n/, args.join(' '));
    }
  });

  test('--help prints usage to stdout, exit 0', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage:/);
  });
});

describe('cti-contracts sign', () => {
  test('prints the two headers for the exact file bytes (checked with OpenSSL)', () => {
    // printf '1700000000.{"hello":"world"}' | openssl dgst -sha256 -hmac whsec_test_1
    const body = file('body.json', '{"hello":"world"}');
    assert.deepEqual(run(['sign', '--secret', 'whsec_test_1', '--timestamp', '1700000000', body]), {
      code: 0,
      stdout:
        'X-CTI-Timestamp: 1700000000\nX-CTI-Signature: sha256=70f39832166dc2bb9d80c2645052488a115e149671384b25c9f109b3f01f8809\n',
      stderr: '',
    });
  });

  test('defaults the timestamp to now', () => {
    const before = Math.floor(Date.now() / 1000);
    const r = run(['sign', '--secret', 's', file('now.json', '{}')]);
    assert.equal(r.code, 0);
    const ts = Number(/^X-CTI-Timestamp: (\d+)$/m.exec(r.stdout)?.[1]);
    assert.ok(ts >= before && ts <= Math.floor(Date.now() / 1000) + 1, r.stdout);
    assert.match(r.stdout, /^X-CTI-Signature: sha256=[0-9a-f]{64}$/m);
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['missing --secret', ['sign', 'body.json'], /expected: sign --secret/],
    ['missing body file', ['sign', '--secret', 's'], /expected: sign --secret/],
    ['--secret without value', ['sign', 'body.json', '--secret'], /--secret/],
    [
      'bad --timestamp',
      ['sign', '--secret', 's', '--timestamp', '2025-01-01', 'body.json'],
      /--timestamp must be unix seconds/,
    ],
  ];
  for (const [name, args, message] of usageErrors) {
    test(`usage error (${name}): exit 2`, () => {
      const r = run(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Usage:/);
    });
  }

  test('unreadable body file: exit 2', () => {
    const r = run(['sign', '--secret', 's', join(dir, 'nope.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read .*nope\.json/);
  });
});
