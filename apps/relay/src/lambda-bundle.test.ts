// The deployable artefact itself: dist/lambda/index.mjs (built by `pnpm --filter @cti/relay build`),
// copied away from node_modules to prove it is self-contained, run in a fresh Node process with the
// environment the Lambda gets, against s3rver and a signature-checking receiver.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startS3rver } from '@cti/testkit';
import { makeCapture, uploadCapture, uploadMeta } from './test-captures.ts';
import { eventBridgeObjectCreated } from './test-events.ts';
import { startReceiver } from './test-receiver.ts';

const run = promisify(execFile);
const bundle = new URL('../dist/lambda/index.mjs', import.meta.url).pathname;

const invoke = `
const { handler } = await import(process.argv[1]);
const context = { awsRequestId: 'bundle-test', getRemainingTimeInMillis: () => 60000 };
try {
  console.log(JSON.stringify(await handler(JSON.parse(process.argv[2]), context)));
} catch (error) {
  console.log(JSON.stringify({ error: error.name, message: error.message }));
}`;

test('the bundled handler relays an EventBridge event from a standalone file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'relay-bundle-'));
  const s3 = await startS3rver({ buckets: ['cti-bundle'] });
  const receiver = await startReceiver({ secrets: ['bundle-secret-0123456789'] });
  t.after(async () => {
    await receiver.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });
  await copyFile(bundle, join(dir, 'index.mjs')).catch((error: Error) => {
    throw new Error(`${bundle} is missing: run pnpm --filter @cti/relay build first (${error.message})`);
  });
  const complete = makeCapture();
  const partial = makeCapture();
  await uploadCapture(s3.client, s3.bucket, complete);
  await uploadMeta(s3.client, s3.bucket, partial);
  const env = {
    PATH: process.env.PATH,
    CTI_WEBHOOK_URL: receiver.url,
    CTI_WEBHOOK_SECRETS: 'bundle-secret-0123456789',
    CTI_RELAY_BUDGET_MS: '1000',
    S3_ENDPOINT: s3.endpoint,
    AWS_REGION: 'ca-central-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    LOG_LEVEL: 'silent',
  };
  const call = async (key: string) => {
    const event = JSON.stringify(eventBridgeObjectCreated(s3.bucket, key));
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', invoke, join(dir, 'index.mjs'), event],
      {
        env,
        cwd: dir,
      },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) as string);
  };
  const ok = await call(complete.metaKey);
  assert.equal(ok.results[0].outcome.kind, 'delivered');
  assert.equal(receiver.for(complete.dir).length, 1);
  assert.ok(receiver.requests[0]?.signatureOk);
  const failed = await call(partial.metaKey);
  assert.equal(failed.error, 'RelayBatchError');
  assert.match(failed.message, /incomplete, missing image.png/);
});
