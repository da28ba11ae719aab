#!/usr/bin/env node
// cti-local-s3: a standalone S3-compatible server (s3rver) for the local demo and development.
// Stops on SIGTERM/SIGINT. --cors-origin lets that origin GET objects from a script (the dashboard's mask
// editor reads the scan image and mask back through a canvas), like a production bucket's CORS rule.
// Exit 0 stopped or --help, 1 could not start (a busy port), 2 bad arguments.
import { parseArgs } from 'node:util';
import { PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { type LocalS3, startS3rver } from './s3rver.ts';

const USAGE = `usage: cti-local-s3 [--port 4569] [--dir DIR] [--bucket cti-dev]... [--cors-origin ORIGIN]...
  --port          port on 127.0.0.1 (0: any free port)
  --dir           keep objects in DIR (default: a temporary directory removed at stop)
  --bucket        a bucket to create; repeatable (default cti-dev)
  --cors-origin   let this origin GET objects from a script; repeatable`;

class UsageError extends Error {}

const OPTIONS = {
  port: { type: 'string', default: '4569' },
  dir: { type: 'string' },
  bucket: { type: 'string', multiple: true },
  'cors-origin': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS }));
  } catch (err) {
    // parseArgs refuses an unknown option, a missing value or a positional: its message names it.
    if (!String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) throw err;
    throw new UsageError((err as Error).message);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535)
    throw new UsageError(`--port must be an integer 0-65535, got ${JSON.stringify(values.port)}`);
  const buckets = values.bucket?.length ? values.bucket : ['cti-dev'];
  return { help: values.help === true, port, dir: values.dir, buckets, origins: values['cors-origin'] ?? [] };
}

async function allowOrigins(s3: LocalS3, buckets: string[], origins: string[]): Promise<void> {
  if (origins.length === 0) return;
  for (const bucket of buckets) {
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

async function main(argv: string[]): Promise<number | undefined> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`cti-local-s3: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  let s3: LocalS3;
  try {
    s3 = await startS3rver({
      port: args.port,
      buckets: args.buckets,
      ...(args.dir ? { directory: args.dir } : {}),
    });
  } catch (err) {
    // A busy port (EADDRINUSE), a --dir that cannot be used: one line, not a stack trace.
    if (typeof (err as { code?: unknown }).code !== 'string') throw err;
    console.error(`cti-local-s3: cannot start: ${(err as Error).message}`);
    return 1;
  }
  await allowOrigins(s3, args.buckets, args.origins);
  const stop = () => {
    s3.close().then(() => process.exit(0));
  };
  // Before "listening" is printed: a script may send SIGTERM the moment it reads the line.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(
    JSON.stringify({
      msg: 'local S3 listening',
      endpoint: s3.endpoint,
      buckets: args.buckets,
      cors_origins: args.origins,
      dir: s3.directory,
    }),
  );
  return undefined; // keeps running until a signal
}

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
