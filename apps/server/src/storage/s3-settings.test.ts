import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-parsers.ts';
import { loadS3Settings, presignedUrlSources } from './s3-settings.ts';
import { createUrlSigner } from './url-signer.ts';

test('AWS: the region is required and path style is off', () => {
  assert.deepEqual(loadS3Settings({ AWS_REGION: 'ca-central-1' }), {
    endpoint: undefined,
    region: 'ca-central-1',
    forcePathStyle: false,
  });
  assert.throws(
    () => loadS3Settings({}),
    (err: unknown) => err instanceof ConfigError && err.setting === 'AWS_REGION',
  );
});

test('an S3-compatible endpoint: any region, path style on unless turned off', () => {
  assert.deepEqual(loadS3Settings({ S3_ENDPOINT: 'http://127.0.0.1:4569' }), {
    endpoint: 'http://127.0.0.1:4569',
    region: 'us-east-1',
    forcePathStyle: true,
  });
  assert.equal(
    loadS3Settings({ S3_ENDPOINT: 'https://s3.coop.example', S3_FORCE_PATH_STYLE: '0' }).forcePathStyle,
    false,
  );
  assert.equal(
    loadS3Settings({ S3_ENDPOINT: 'http://x:1', AWS_DEFAULT_REGION: 'eu-west-1' }).region,
    'eu-west-1',
  );
});

test('bad settings are named', () => {
  for (const [env, setting] of [
    [{ S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT'],
    [{ S3_ENDPOINT: 'ftp://x' }, 'S3_ENDPOINT'],
    [{ S3_ENDPOINT: 'http://x:1', S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE'],
  ] as const) {
    assert.throws(
      () => loadS3Settings(env),
      (err: unknown) => err instanceof ConfigError && err.setting === setting,
    );
  }
});

/** Whether `url` may load under CSP source expressions `sources` (scheme, host with `*.` prefix, port). */
function allowedBy(sources: readonly string[], url: string): boolean {
  const u = new URL(url);
  return sources.some((source) => {
    const m = /^(https?):\/\/(\*\.)?([^/:]+)(?::(\d+))?$/.exec(source)!;
    const [, scheme, wildcard, host, port = ''] = m;
    const hostOk = wildcard ? u.hostname.endsWith(`.${host}`) : u.hostname === host;
    return `${scheme}:` === u.protocol && hostOk && port === u.port;
  });
}

test('the CSP allows the images the API presigns: path style, virtual-hosted style (bucket subdomains), AWS', async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'csp-test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'csp-test-secret';
  for (const env of [
    { S3_ENDPOINT: 'https://s3.coop.example:8443' },
    { S3_ENDPOINT: 'https://s3.coop.example:8443', S3_FORCE_PATH_STYLE: '0' },
    { S3_ENDPOINT: 'http://127.0.0.1:9000' },
    { AWS_REGION: 'eu-west-1' },
  ]) {
    const settings = loadS3Settings(env);
    const sources = presignedUrlSources(settings.endpoint, settings.forcePathStyle);
    const { url } = await createUrlSigner({ settings, ttlSeconds: 60 }).sign('cti-raw', 'raw/x/image.png');
    assert.ok(
      allowedBy(sources, url),
      `${JSON.stringify(env)}: ${url} is not allowed by ${sources.join(' ')}`,
    );
    assert.ok(!allowedBy(sources, 'https://evil.example/x.png'));
  }
  assert.deepEqual(presignedUrlSources('https://s3.coop.example:8443', false), [
    'https://s3.coop.example:8443',
    'https://*.s3.coop.example:8443',
  ]);
});
