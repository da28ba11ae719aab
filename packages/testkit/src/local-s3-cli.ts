#!/usr/bin/env node
// cti-local-s3: a standalone S3-compatible server (s3rver) for the local demo and development.
// Usage: cti-local-s3 [--port 4569] [--dir .cti/s3] [--bucket cti-dev]... [--cors-origin http://127.0.0.1:8080]...
// Stops on SIGTERM/SIGINT. --cors-origin lets that origin GET objects from a script (the dashboard's mask
// editor reads the scan image and mask back through a canvas), like a production bucket's CORS rule.
import { parseArgs } from 'node:util';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { startS3rver } from './s3rver.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4569' },
    dir: { type: 'string' },
    bucket: { type: 'string', multiple: true },
    'cors-origin': { type: 'string', multiple: true },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`cti-local-s3: --port must be an integer 0-65535, got "${values.port}"`);
  process.exit(2);
}
const s3 = await startS3rver({
  port,
  buckets: values.bucket?.length ? values.bucket : ['cti-dev'],
  ...(values.dir ? { directory: values.dir } : {}),
});
const origins = values['cors-origin'] ?? [];
if (origins.length > 0) {
  for (const bucket of values.bucket?.length ? values.bucket : ['cti-dev']) {
    await s3.client.send(
      new PutBucketCorsCommand({
        Bucket: bucket,
        CORSConfiguration: {
          CORSRules: [{ AllowedOrigins: origins, AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['*'] }],
        },
      }),
    );
  }
}
console.log(
  JSON.stringify({
    msg: 'local S3 listening',
    endpoint: s3.endpoint,
    buckets: values.bucket ?? ['cti-dev'],
    cors_origins: origins,
    dir: s3.directory,
  }),
);
const stop = () => {
  s3.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
