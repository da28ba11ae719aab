import { readFile } from 'node:fs/promises';
import { type Rgw, RgwStartError, startRgw } from './rgw.ts';
import { waitFor } from './wait-for.ts';

/** Where rgw-global-setup.ts publishes the cluster it started for a test run. */
export const RGW_STATE_ENV = 'CTI_TEST_RGW_FILE';

export type RgwState =
  | { endpoint: string; accessKeyId: string; secretAccessKey: string; startMs: number }
  | { error: string };

export type SharedRgw = Pick<Rgw, 'endpoint' | 'accessKeyId' | 'secretAccessKey'> & {
  release(): Promise<void>;
};

let own: { rgw: Promise<Rgw>; users: number } | undefined;

/** The run's cluster, once its global setup has written the state file (it may still be starting). */
async function fromStateFile(file: string): Promise<SharedRgw> {
  const state = await waitFor(async () => JSON.parse(await readFile(file, 'utf8')) as RgwState, {
    what: `the test run's Ceph RGW (${file})`,
    timeoutMs: 180_000,
    intervalMs: 200,
  });
  if ('error' in state) throw new RgwStartError(state.error);
  return { ...state, release: async () => {} };
}

/**
 * A Ceph RGW to run tests against. Under a test run with the global setup (rgw-global-setup.ts),
 * the one cluster that run started; otherwise one started for this process, shared by its callers
 * and stopped when the last one releases it (a single test file run by hand).
 */
export async function acquireRgw(): Promise<SharedRgw> {
  const file = process.env[RGW_STATE_ENV];
  if (file) return fromStateFile(file);
  own ??= { rgw: startRgw(), users: 0 };
  const current = own;
  current.users++;
  let rgw: Rgw;
  try {
    rgw = await current.rgw;
  } catch (error) {
    if (own === current) own = undefined;
    throw error;
  }
  let released = false;
  return {
    endpoint: rgw.endpoint,
    accessKeyId: rgw.accessKeyId,
    secretAccessKey: rgw.secretAccessKey,
    async release() {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      if (own === current) own = undefined;
      await rgw.close();
    },
  };
}
