// A real agent-like process for crash tests: opens the real outbox and uploader, feeds captures
// 0..total-1 that are not yet committed (a restart re-captures what a crash lost before its
// commit), and prints "drained" once all are committed and uploaded. Configured by one JSON argv.
//   mode "run": the above; SIGTERM stops it gracefully (uploader.stop, outbox.close, exit 0).
//   mode "die-before-commit": SIGKILLs itself inside commitCapture of `dieAt`, after the capture's
//   files are durable in the spool and before the SQLite commit.
import { createLogger, onShutdown } from '@cti/runtime';
import { createOutbox } from '../outbox/outbox.ts';
import { createUploadS3Client } from '../uploader/s3-client.ts';
import { createUploader } from '../uploader/uploader.ts';
import { fakeCapture } from './outbox-fixtures.ts';

interface HarnessConfig {
  mode: 'run' | 'die-before-commit';
  dbPath: string;
  spoolDir: string;
  endpoint: string;
  bucket: string;
  total: number;
  imageBytes?: number;
  dieAt?: number;
  commitGapMs?: number;
  abandonAfterMs?: number;
  multipartThresholdBytes?: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as HarnessConfig;
const log = createLogger({ name: 'outbox-harness', level: process.env.LOG_LEVEL ?? 'warn' });
const dieId = config.mode === 'die-before-commit' ? fakeCapture(config.dieAt ?? 0).captureId : null;
const outbox = createOutbox({
  dbPath: config.dbPath,
  spoolDir: config.spoolDir,
  log,
  minFreeBytes: 0,
  hooks: {
    afterFilesWritten: ({ captureId }) => {
      if (captureId === dieId) process.kill(process.pid, 'SIGKILL');
    },
  },
});
const uploader = createUploader({
  outbox,
  s3: createUploadS3Client({ region: 'us-east-1', endpoint: config.endpoint, maxAttempts: 1 }),
  bucket: config.bucket,
  concurrency: 4,
  log,
  backoffBaseMs: 50,
  backoffCapMs: 500,
  pollIntervalMs: 200,
  multipartThresholdBytes: config.multipartThresholdBytes,
  partSizeBytes: config.multipartThresholdBytes,
});
onShutdown(
  async () => {
    await uploader.stop({ abandonAfterMs: config.abandonAfterMs ?? 5000 });
    outbox.close();
  },
  { log },
);
uploader.start();
// The parent's kill timer starts here: a loaded machine's slow start-up (imports) must not eat a life.
process.stdout.write('started\n');

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
for (let n = 0; n < config.total; n++) {
  const capture = fakeCapture(n, { imageBytes: config.imageBytes ?? 20_000 });
  if (outbox.show(capture.captureId)) continue;
  await outbox.commitCapture(capture);
  process.stdout.write(`committed ${capture.captureId}\n`);
  if (config.commitGapMs) await pause(config.commitGapMs);
}
while (outbox.summary().pendingCaptures > 0) await pause(50);
process.stdout.write('drained\n');
