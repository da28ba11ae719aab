// Global setup for `node --test --test-global-setup=node_modules/@cti/testkit/dist/rgw-global-setup.js`:
// one Ceph RGW cluster per package test run, shared by every test file (each uses its own buckets),
// instead of one ~15 s cluster start per file. The cluster starts in the background while the test
// files begin; files that need it wait for the state file (acquireRgw in rgw-shared.ts).
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Rgw, startRgw } from './rgw.ts';
import { RGW_STATE_ENV, type RgwState } from './rgw-shared.ts';

let starting: Promise<Rgw | undefined> | undefined;
let stateFile: string | undefined;

export async function globalSetup(): Promise<void> {
  const file = join(tmpdir(), `cti-rgw-state-${process.pid}.json`);
  stateFile = file;
  process.env[RGW_STATE_ENV] = file; // inherited by the test files' processes
  // Written aside and renamed into place, so a reader never sees half a file.
  const publish = (state: RgwState) => {
    writeFileSync(`${file}.tmp`, JSON.stringify(state));
    renameSync(`${file}.tmp`, file);
  };
  starting = startRgw().then(
    (rgw) => {
      const { endpoint, accessKeyId, secretAccessKey, startMs } = rgw;
      publish({ endpoint, accessKeyId, secretAccessKey, startMs });
      console.log(
        `# Ceph RGW ready on ${rgw.endpoint} in ${(rgw.startMs / 1000).toFixed(1)} s (shared by this run)`,
      );
      return rgw;
    },
    (error: Error) => {
      publish({ error: error.message });
      return undefined;
    },
  );
}

export async function globalTeardown(): Promise<void> {
  const rgw = await starting;
  await rgw?.close();
  if (stateFile) rmSync(stateFile, { force: true });
}
