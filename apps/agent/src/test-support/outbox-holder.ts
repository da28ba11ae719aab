// Test support (not built): holds the outbox of a data directory open as `cti-agent run` does (the
// owner, in WAL mode with its `-shm`), after committing captures 1–4 and quarantining the 4th, then
// prints "ready" and waits to be killed. Each line "commit" on stdin commits the next capture and
// prints "committed <capture_id>" or "failed <code>: <message>".
//   node outbox-holder.ts <dataDir>
import { createInterface } from 'node:readline';
import { fakeCapture, outboxIn } from './outbox-fixtures.ts';

const outbox = outboxIn(process.argv[2]!, { minFreeBytes: 0 });
let next = 1;
for (; next <= 4; next++) await outbox.commitCapture(fakeCapture(next));
outbox.store.quarantine('cap_t00004', 'image.png', 'image.png: IntegrityError', Date.now());
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'commit') continue;
  const capture = fakeCapture(next++);
  try {
    await outbox.commitCapture(capture);
    process.stdout.write(`committed ${capture.captureId}\n`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stdout.write(`failed ${e.code ?? e.name}: ${e.message}\n`);
  }
}
