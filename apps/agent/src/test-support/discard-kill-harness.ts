// Test support (not built): `cti-agent outbox discard <id> --delete-files` in a process that SIGKILLs
// itself between the row update and the delete of the files (outbox hook beforeDiscardedFilesDeleted).
//   node discard-kill-harness.ts <dataDir> <captureId>
import { join } from 'node:path';
import { createOutbox } from '../outbox/outbox.ts';

const [dataDir, captureId] = process.argv.slice(2) as [string, string];
const outbox = createOutbox({
  dbPath: join(dataDir, 'outbox.db'),
  spoolDir: join(dataDir, 'spool'),
  owner: false,
  access: 'existing',
  hooks: { beforeDiscardedFilesDeleted: () => process.kill(process.pid, 'SIGKILL') },
});
outbox.discard(captureId, { deleteFiles: true });
process.stdout.write('the files were deleted: the hook did not run\n');
