import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePorts } from './free-ports.ts';

const SCRIPT = fileURLToPath(new URL('../scripts/ceph-rgw.sh', import.meta.url));

/** A running one-node Ceph cluster with its RADOS Gateway (a real S3 implementation) on 127.0.0.1. */
export interface Rgw {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** Cluster directory (config, logs under log/, pidfiles under run/). */
  dir: string;
  /** How long the cluster took to start, in ms. */
  startMs: number;
  /** Kill radosgw (SIGKILL: a crash) and start it again on the same port; resolves once it answers. */
  restartGateway(): Promise<void>;
  /** Stop every daemon and remove the directory. */
  close(): Promise<void>;
}

export interface StartRgwOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  /** RAM the memstore osd may hold (object data), bytes. */
  memstoreBytes?: number;
  /** Give up after this long (a cold start on a loaded 2-core machine takes ~15-30 s). */
  timeoutMs?: number;
}

/** Thrown when the Ceph packages are missing or the cluster does not come up; says where to look. */
export class RgwStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RgwStartError';
  }
}

async function logTail(dir: string): Promise<string> {
  const tails = await Promise.all(
    ['client.rgw.a.log', 'osd.0.log', 'mon.a.log'].map(async (name) => {
      const text = await readFile(join(dir, 'log', name), 'utf8').catch(() => '');
      return text ? `--- ${name}\n${text.split('\n').slice(-15).join('\n')}` : '';
    }),
  );
  return tails.filter(Boolean).join('\n');
}

/** Resolves with the ms the script reports on its `ready` line, rejects when it exits first. */
function readyLine(child: ChildProcess): Promise<number> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /^ready (\d+)$/m.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new RgwStartError(`ceph-rgw.sh exited ${code}: ${stderr.trim()}`)));
  });
}

/**
 * Starts a one-node Ceph cluster (mon + memstore osd + radosgw, cephx off) on free ports of
 * 127.0.0.1 and creates an S3 user. Its daemons stop on close() and also when this process dies
 * (the script watches its parent). Needs Debian's radosgw, ceph-mon, ceph-osd (scripts/setup.sh).
 *
 * @example
 * const rgw = await startRgw();
 * const client = createLocalS3Client({ endpoint: rgw.endpoint, credentials: rgw });
 * await rgw.close();
 */
export async function startRgw({
  accessKeyId = 'cti-test',
  secretAccessKey = 'cti-test-secret',
  memstoreBytes = 1 << 30,
  timeoutMs = 120_000,
}: StartRgwOptions = {}): Promise<Rgw> {
  const dir = await mkdtemp(join(tmpdir(), 'cti-rgw-'));
  const [port, monPort, monPortV1] = (await freePorts(3)) as [number, number, number];
  const env = {
    ...process.env,
    CEPH_RGW_DIR: dir,
    RGW_PORT: String(port),
    MON_PORT: String(monPort),
    MON_PORT_V1: String(monPortV1),
    S3_ACCESS_KEY: accessKeyId,
    S3_SECRET_KEY: secretAccessKey,
    MEMSTORE_BYTES: String(memstoreBytes),
    CEPH_RGW_PARENT: String(process.pid),
  };
  const child = spawn('bash', [SCRIPT, 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let timer: NodeJS.Timeout | undefined;
  let startMs: number;
  try {
    startMs = await Promise.race([
      readyLine(child),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RgwStartError(`no ready line within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    const detail = await logTail(dir);
    await stop();
    await rm(dir, { recursive: true, force: true });
    throw new RgwStartError(`Ceph RGW did not start: ${(error as Error).message}\n${detail}`);
  } finally {
    clearTimeout(timer);
  }
  child.stdout?.resume();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    accessKeyId,
    secretAccessKey,
    dir,
    startMs,
    async restartGateway() {
      await promisify(execFile)('bash', [SCRIPT, 'restart-gateway'], { env });
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
