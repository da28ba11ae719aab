import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type LocalS3, waitFor } from '@cti/testkit';

const cli = join(fileURLToPath(new URL('..', import.meta.url)), 'cli.ts');

export type SpawnedAgent = {
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  exit: Promise<number | null>;
  exited(): boolean;
  /** SIGTERM (unless it has exited) and its exit code. */
  stop(): Promise<number | null>;
};

/**
 * `cti-agent --config <config> run` in its own process, with s3rver's credentials; its `stop` is pushed
 * onto `cleanups` so a failed test leaves no agent behind. `wrap` turns the node command line into
 * another one that ends by exec'ing it (e.g. in a private mount namespace): the process signalled is
 * then the agent itself.
 *
 * @example const agent = startAgentRun(configFile, cleanups); await agent.stop();
 */
export function startAgentRun(
  config: string,
  cleanups: Array<() => unknown>,
  { env = {}, wrap = (argv) => argv }: { env?: NodeJS.ProcessEnv; wrap?: (argv: string[]) => string[] } = {},
): SpawnedAgent & { pid: number } {
  const chunks: string[] = [];
  const [file, ...args] = wrap([process.execPath, cli, '--config', config, 'run']);
  const child: ChildProcess = spawn(file!, args, {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => chunks.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) child.kill('SIGTERM');
    return exit;
  };
  cleanups.push(stop);
  return { pid: child.pid!, output: () => chunks.join(''), exit, exited: () => exited, stop };
}

/** Captures whose meta.json (the commit marker, sent last) is in the bucket. */
export async function metaCount(s3: LocalS3): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: token }),
    );
    count += (page.Contents ?? []).filter((o) => o.Key?.endsWith('/meta.json')).length;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return count;
}

/**
 * Writes `file`: an agent config for `dataDir` with a synthetic probe, no trigger and no hint, its local
 * API on a free port, uploading to `bucket` at `endpoint`, with the disk floor `minFreeMb`; `extra`
 * keys (a trigger, sysfs_root, heartbeat…) replace those.
 */
export function writeAgentConfig(
  file: string,
  {
    dataDir,
    bucket,
    endpoint,
    minFreeMb,
    extra = {},
  }: {
    dataDir: string;
    bucket: string;
    endpoint: string;
    minFreeMb: number;
    extra?: Record<string, unknown>;
  },
): string {
  writeFileSync(
    file,
    JSON.stringify({
      device_code: 'dev-test',
      data_dir: dataDir,
      source: { kind: 'simulated', pattern: 'synthetic' },
      trigger: { kind: 'none' },
      hint: { enabled: false },
      http: { host: '127.0.0.1', port: 0 },
      upload: { bucket, endpoint, region: 'us-east-1' },
      outbox: { min_free_mb: minFreeMb },
      ...extra,
    }),
  );
  return file;
}

/**
 * Waits until `count` captures' meta.json are in the bucket (the agent's output in the error when they
 * are not), then asserts the agent is still running.
 */
export async function waitForUploads(
  agent: SpawnedAgent,
  s3: LocalS3,
  count: number,
  { what, timeoutMs = 90_000 }: { what: string; timeoutMs?: number },
): Promise<void> {
  await waitFor(async () => agent.exited() || (await metaCount(s3)) === count, {
    what,
    timeoutMs,
    intervalMs: 500,
  }).catch((err) => {
    throw new Error(`${(err as Error).message}; agent output:\n${agent.output().slice(-6000)}`);
  });
  assert.equal(agent.exited(), false, agent.output().slice(-3000));
}
