// The built cti-relay, spawned: exit codes, stdout JSON, errors naming settings, status of a watch cursor.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LocalS3, startS3rver } from '@cti/testkit';
import { emptyState, saveState } from './local/watch-state.ts';
import { makeCapture, uploadCapture, uploadMeta } from './test-captures.ts';
import { s3NotificationRecord } from './test-events.ts';
import { type Receiver, startReceiver } from './test-receiver.ts';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let s3: LocalS3;
let receiver: Receiver;
let dir: string;
before(async () => {
  s3 = await startS3rver({ buckets: ['cti-cli'] });
  receiver = await startReceiver({ secrets: ['cli-secret-0123456789'] });
  dir = await mkdtemp(join(tmpdir(), 'relay-cli-'));
});
after(async () => {
  await receiver.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? '',
    CTI_WEBHOOK_URL: receiver.url,
    CTI_WEBHOOK_SECRETS: 'cli-secret-0123456789',
    S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    CTI_RELAY_BUDGET_MS: '2000',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

/** Run the CLI without blocking the event loop (the receiver and s3rver live in this process). */
function run(args: string[], environment: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: environment }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

test('once relays one object, prints the outcome and exits 0', async () => {
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const { code, stdout } = await run(['once', s3.bucket, capture.metaKey], env());
  assert.equal(code, 0);
  const outcome = JSON.parse(stdout);
  assert.equal(outcome.kind, 'delivered');
  assert.equal(receiver.for(capture.dir).length, 1);
  assert.equal((receiver.for(capture.dir)[0]!.body.relay as { source: string }).source, 'replay');
});

test('once exits 1 for an incomplete capture and 0 for an ignored key', async () => {
  const capture = makeCapture();
  await uploadMeta(s3.client, s3.bucket, capture);
  const incomplete = await run(['once', s3.bucket, capture.metaKey, '--budget-ms', '0'], env());
  assert.equal(incomplete.code, 1);
  assert.deepEqual(JSON.parse(incomplete.stdout).missing, ['image.png']);
  const ignored = await run(['once', s3.bucket, 'raw/readme.txt'], env());
  assert.equal(ignored.code, 0);
  assert.equal(JSON.parse(ignored.stdout).kind, 'ignored');
});

test('once takes the object as s3://bucket/key too; a key that is such a URL is refused, not ignored (review r21 F3)', async () => {
  const capture = makeCapture();
  await uploadCapture(s3.client, s3.bucket, capture);
  const url = `s3://${s3.bucket}/${capture.metaKey}`;
  const byUrl = await run(['once', url], env());
  assert.equal(byUrl.code, 0, byUrl.stderr);
  assert.equal(JSON.parse(byUrl.stdout).kind, 'delivered');
  // Before: exit 0 and {"kind":"ignored"}, nothing relayed.
  const urlAsKey = await run(['once', s3.bucket, url], env());
  assert.equal(urlAsKey.code, 2);
  assert.match(
    urlAsKey.stderr,
    /once: the key "s3:\/\/.+" is a URL; give <bucket> <key> or one s3:\/\/<bucket>\/<key>/,
  );
  assert.equal(urlAsKey.stdout, '');
});

test('bad configuration exits 1 naming the setting; bad usage exits 2 with the usage', async () => {
  const bad = await run(
    ['once', 'b', 'k'],
    env({ CTI_WEBHOOK_URL: 'not a url', CTI_RELAY_BUDGET_MS: 'soon' }),
  );
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /CTI_WEBHOOK_URL: must be an http\(s\) URL/);
  assert.match(bad.stderr, /CTI_RELAY_BUDGET_MS: must be an integer/);
  const usage = await run(['frobnicate'], env());
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown command "frobnicate"[\s\S]*Usage:/);
  for (const args of [['--x'], ['status', '--x']]) {
    const unknown = await run(args, env());
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^cti-relay: unknown option "--x"\n\nUsage:/, args.join(' '));
  }
  const watchWithoutBucket = await run(['watch'], env());
  assert.equal(watchWithoutBucket.code, 1);
  assert.match(watchWithoutBucket.stderr, /CTI_RELAY_BUCKET: is required for watch/);
  // The README's old local recipe: a secret the server refuses is refused at the relay's start too.
  const shortSecret = await run(
    ['watch', '--bucket', 'cti-cli', '--state', join(dir, 'short-secret.json')],
    env({ CTI_WEBHOOK_SECRETS: 'dev-secret' }),
  );
  assert.equal(shortSecret.code, 1, shortSecret.stderr);
  assert.match(
    shortSecret.stderr,
    /CTI_WEBHOOK_SECRETS: entry 1 is shorter than 16 characters; use a long random secret/,
  );
  assert.equal(existsSync(join(dir, 'short-secret.json')), false, 'nothing written');
});

test('a LOG_LEVEL pino does not know is a configuration error naming it, for every command (review r3 F9)', async () => {
  // Before: pino's "default level:verbose must be included in custom levels" with a stack, exit 1.
  for (const args of [
    ['watch', '--bucket', 'cti-cli', '--state', join(dir, 'log-level.json')],
    ['once', 'cti-cli', 'raw/x/meta.json'],
    ['status', '--bucket', 'cti-cli', '--state', join(dir, 'log-level.json')],
  ]) {
    const res = await run(args, env({ LOG_LEVEL: 'verbose' }));
    assert.equal(res.code, 1, `${args[0]}: ${res.stderr}`);
    assert.equal(
      res.stderr,
      'cti-relay: invalid relay configuration:\n  LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n',
      args[0],
    );
  }
  assert.equal(existsSync(join(dir, 'log-level.json')), false, 'nothing written');
  // Unset or blank: the default (info), as on the server.
  const blank = await run(
    ['status', '--bucket', 'cti-cli', '--state', join(dir, 'log-level.json')],
    env({ LOG_LEVEL: ' ' }),
  );
  assert.equal(blank.code, 0, blank.stderr);
});

test('status reads a cursor; a cursor of another bucket is refused', async () => {
  const stateFile = join(dir, 'missing.json');
  const fresh = await run(['status', '--bucket', 'cti-cli', '--state', stateFile], env());
  assert.equal(fresh.code, 0);
  assert.deepEqual(JSON.parse(fresh.stdout), { watermark: null, settled: 0, pending: {}, rejected: {} });
  const other = join(dir, 'other.json');
  await saveState(other, emptyState('other-bucket', 'raw/'));
  const refused = await run(['status', '--bucket', 'cti-cli', '--state', other], env());
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /belongs to s3:\/\/other-bucket\/raw\/, not s3:\/\/cti-cli\/raw\//);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  // A damaged cursor (not JSON, null, a directory): one line naming the file and the problem, exit 1.
  const notJson = join(dir, 'not-json.json');
  await writeFile(notJson, '{bad');
  const nullState = join(dir, 'null.json');
  await writeFile(nullState, 'null');
  for (const [file, problem] of [
    [notJson, /is not valid JSON/],
    [nullState, /is not a version 1 relay state/],
    [dir, /cannot be read: EISDIR/],
  ] as const) {
    const res = await run(['status', '--bucket', 'cti-cli', '--state', file], env());
    assert.equal(res.code, 1, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(`^cti-relay: state file .*\\(CTI_RELAY_STATE_FILE\\) ${problem.source}`),
    );
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('replay re-runs a dead-letter message (Lambda on-failure record) and prints one line per object', async () => {
  const delivered = makeCapture();
  const ignoredKey = 'raw/dev+1/notes.txt';
  await uploadCapture(s3.client, s3.bucket, delivered);
  const message = {
    version: '1.0',
    timestamp: '2025-09-09T14:20:00.000Z',
    requestContext: {
      requestId: 'r',
      functionArn: 'arn:aws:lambda:ca-central-1:1:function:cti-relay',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
    },
    requestPayload: {
      Records: [
        s3NotificationRecord(s3.bucket, delivered.metaKey),
        s3NotificationRecord(s3.bucket, ignoredKey),
      ],
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: 'RelayBatchError', errorMessage: '1 of 2 record(s) not relayed' },
  };
  const file = join(dir, 'dlq-message.json');
  await writeFile(file, JSON.stringify(message));
  const { code, stdout } = await run(['replay', file], env());
  assert.equal(code, 0);
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => [l.key, l.outcome.kind]),
    [
      [delivered.metaKey, 'delivered'],
      ['raw/dev 1/notes.txt', 'ignored'],
    ],
  );
  assert.equal(receiver.for(delivered.dir).length, 1);
  const notJson = await run(['replay', join(dir, 'missing.json')], env());
  assert.equal(notJson.code, 1);
  assert.match(notJson.stderr, /^cti-relay: cannot read .*missing\.json: ENOENT/);
  // A file that is not JSON, JSON null, or not an event: one line naming the file, no stack trace.
  for (const [body, problem] of [
    ['{bad', /is not JSON/],
    ['null', /event is not an object/],
    ['{}', /unrecognised event/],
  ] as const) {
    const bad = join(dir, 'bad-event.json');
    await writeFile(bad, body);
    const res = await run(['replay', bad], env());
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`^cti-relay: ${bad.replaceAll('.', '\\.')}:? .*${problem.source}`));
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  }
  // An impossible or non-ISO --since is a usage error, not a day that silently moved.
  for (const since of ['2025-02-30', 'March 7', '2025-09-01 garbage']) {
    const res = await run(['replay', '--bucket', 'b', '--since', since], env());
    assert.equal(res.code, 2, `${since}: ${res.stderr}`);
    assert.match(res.stderr, /--since must be an ISO-8601 time/);
  }
});

// systemd (or a test) may send SIGTERM the instant the start is announced: the handler must be in
// place by then, or the signal kills the process outright (exit code null, the cursor not saved).
for (const [command, args, announcement] of [
  ['watch', ['--bucket', 'cti-cli', '--state', 'instant-watch.json'], 'watching'],
  ['serve', ['--port', '0'], 'listening for bucket notifications on POST /notify'],
] as const) {
  test(`${command}: a SIGTERM the instant "${announcement}" is logged stops it with 0`, async () => {
    const child = spawn(process.execPath, [cli, command, ...args], {
      cwd: dir,
      env: env({
        LOG_LEVEL: 'info',
        CTI_RELAY_NOTIFY_SECRETS: 'cli-notify-secret-0123456',
        CTI_RELAY_DEAD_LETTER_DIR: join(dir, 'dead-letters'),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`"msg":"${announcement}"`) && child.signalCode === null) child.kill('SIGTERM');
      });
    // 'close', not 'exit': the output is asserted on, and 'exit' may come before the last of it is read.
    const [code, signal] = await once(child, 'close');
    assert.equal(signal, null, `killed by the SIGTERM itself (no handler yet):\n${output}`);
    assert.equal(code, 0, output);
    assert.match(output, /"msg":"stopped"/);
  });
}
