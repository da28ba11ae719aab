import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-parsers.ts';
import { loadS3Settings } from './s3-settings.ts';

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
