import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger } from '@cti/runtime';
import { type LocalS3, startS3rver } from '@cti/testkit';
import { createHandler, RelayBatchError } from './lambda.ts';
import { createRelay } from './relay-core.ts';
import { makeCapture, uploadCapture, uploadMeta } from './test-captures.ts';
import { fakeClock } from './test-clock.ts';
import { eventBridgeObjectCreated, s3NotificationRecord } from './test-events.ts';
import { startReceiver } from './test-receiver.ts';

const secrets = ['lambda-secret'];
let s3: LocalS3;
before(async () => {
  s3 = await startS3rver({ buckets: ['cti-lambda'] });
});
after(() => s3.close());

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const receiver = await startReceiver({ secrets });
  t.after(() => receiver.close());
  const relay = createRelay({
    s3: s3.client,
    config: { webhookUrl: receiver.url, webhookSecrets: secrets, budgetMs: 60_000, httpTimeoutMs: 5000 },
    log: silentLogger(),
    clock: fakeClock().clock,
    source: 'lambda',
    baseMs: 10,
  });
  const handle = createHandler({ getRelay: async () => relay, log: silentLogger(), budgetMs: 60_000 });
  return { receiver, handle };
}

const context = (remainingMs: number) => ({
  awsRequestId: 'req-1',
  getRemainingTimeInMillis: () => remainingMs,
});

test('an EventBridge Object Created event for meta.json delivers the capture', async (t) => {
  const { receiver, handle } = await setup(t);
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const result = await handle(eventBridgeObjectCreated(s3.bucket, capture.metaKey), context(300_000));
  assert.equal(result.results.length, 1);
  assert.equal(result.results[0]?.outcome.kind, 'delivered');
  assert.equal(receiver.for(capture.dir).length, 1);
  assert.equal(
    (receiver.requests[0]!.body.relay as { event_id: string }).event_id,
    '17793124-05d4-b198-2fde-7ededc63b103',
  );
});

test('a batch with one incomplete capture relays the rest, then throws naming the failed record', async (t) => {
  const { receiver, handle } = await setup(t);
  const complete = makeCapture();
  const partial = makeCapture();
  await uploadCapture(s3.client, s3.bucket, complete);
  await uploadMeta(s3.client, s3.bucket, partial);
  const event = {
    Records: [
      s3NotificationRecord(s3.bucket, complete.metaKey),
      s3NotificationRecord(s3.bucket, partial.metaKey),
      s3NotificationRecord(s3.bucket, 'raw/dev+0001/notes+%2B+todo.txt'),
    ],
  };
  // 5 s of invocation left and a 5 s margin: no time to wait for the missing image.
  const error = await handle(event, context(5000)).catch((e: unknown) => e);
  assert.ok(error instanceof RelayBatchError);
  assert.equal(error.failures.length, 1);
  assert.equal(error.failures[0]?.key, partial.metaKey);
  assert.match(
    error.message,
    /^1 of 3 record\(s\) not relayed:\n.*cap_.*meta.json: incomplete, missing image.png$/,
  );
  assert.equal(receiver.for(complete.dir).length, 1, 'the complete capture was still delivered');
  assert.equal(receiver.for(partial.dir).length, 0);
});

test('non-capture keys (URL-encoded spaces and +) are ignored without failing the invocation', async (t) => {
  const { receiver, handle } = await setup(t);
  const result = await handle({ Records: [s3NotificationRecord(s3.bucket, 'raw/dev+1/a%2Bb/notes.txt')] });
  assert.deepEqual(
    result.results.map((r) => [r.key, r.outcome.kind]),
    [['raw/dev 1/a+b/notes.txt', 'ignored']],
  );
  assert.equal(receiver.requests.length, 0);
});

test('a meta.json under raw/ outside the capture layout fails the invocation (so it reaches the DLQ), naming why', async (t) => {
  const { receiver, handle } = await setup(t);
  const key = 'raw/DEV-UPPER/2026/12/06/cap_1/meta.json';
  const error = await handle({ Records: [s3NotificationRecord(s3.bucket, key)] }).catch((e: unknown) => e);
  assert.ok(error instanceof RelayBatchError);
  assert.match(
    error.message,
    /^1 of 1 record\(s\) not relayed:\n.*DEV-UPPER.*meta\.json: rejected: outside the raw capture layout: invalid device_code "DEV-UPPER"/,
  );
  assert.equal(receiver.requests.length, 0);
});

test('an unrecognised event fails the invocation', async (t) => {
  const { handle } = await setup(t);
  await assert.rejects(handle({ source: 'aws.ec2' }), /unrecognised event/);
});
