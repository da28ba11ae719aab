// Shared by the grading tests (excluded from the build): a migrated test database, s3rver, the real
// ingest app, captures uploaded and ingested through the real webhook, and spawned `cti-server worker`
// processes.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type MetaJson, rawObjectKey, type WebhookBody } from '@cti/contracts';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { encodePng, generatePhantom, type PhantomKind, toGray } from '@cti/imaging';
import { handWrittenPng, type S3Peer, type S3PeerKind, startS3Peer, waitFor } from '@cti/testkit';
import type { Row } from 'postgres';
import { createTestApp, SOURCE_NODE_ARGS, signedInit, TEST_BUCKET, type TestApp } from '../test-helpers.ts';

const MAIN = new URL('../main.ts', import.meta.url).pathname;

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

const pngCache = new Map<string, Promise<Buffer>>();

/** A phantom as the agent would upload it (gray PNG), cached per (seed, kind, layout, size). */
export function phantomPng(
  seed: number,
  {
    kind = 'ribeye',
    layout = 'screen',
    width = 480,
    height = 360,
  }: { kind?: PhantomKind; layout?: 'screen' | 'crop'; width?: number; height?: number } = {},
): Promise<Buffer> {
  const key = `${seed}:${kind}:${layout}:${width}x${height}`;
  let png = pngCache.get(key);
  if (!png) {
    png = encodePng(toGray(generatePhantom({ seed, kind, layout, width, height }).image));
    pngCache.set(key, png);
  }
  return png;
}

/**
 * A well-formed 8-bit PNG (valid CRCs) declaring width×height, of zeros that deflate ~1000:1 — a
 * 16000×16000 RGB one is 746 kB and decodes to 768 MB — or, with `pixels: false`, the header alone
 * (an IDAT of nothing): only a check of the header, not the decoder, can tell its size.
 */
export function pngDeclaring(
  width: number,
  height: number,
  { rgb = false, pixels = true }: { rgb?: boolean; pixels?: boolean } = {},
): Buffer {
  return handWrittenPng({ width, height, colourType: rgb ? 2 : 0, ...(pixels ? {} : { rows: null }) });
}

export type SpawnedWorker = {
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  exit: Promise<number | null>;
  /** The worker's first log line with this `msg` (JSON logs on stdout). */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Port of /healthz and /metrics, once listening. */
  port(): Promise<number>;
};

export type IngestOptions = {
  image: Buffer;
  /** The capture's own mask (uploaded as mask.png and named in meta.json). */
  mask?: Buffer;
  /** Bytes actually stored in S3 (default: `image`): a tampered object keeps the capture's hash. */
  stored?: Buffer;
  meta?: Partial<MetaJson>;
  deviceCode?: string;
  /** Send the spec §5.3 body (no meta_sha256, meta_size_bytes, object_details, relay), not the relay's. */
  specBody?: boolean;
};

/** The S3-compatible store a rig grades from: its client, the one accepted bucket, its port. */
export type GradingStore = Pick<S3Peer, 'kind' | 'client' | 'endpoint' | 'env'> & {
  bucket: string;
  port: number;
};

export type GradingRig = {
  readonly db: TestDatabase;
  readonly s3: GradingStore;
  readonly app: TestApp;
  farmId: string;
  users: { admin: string; technician: string; farmer: string; otherFarmer: string };
  ingest(options: IngestOptions): Promise<{ scanId: string; captureId: string }>;
  /** An object's bytes as the store holds them. */
  objectBytes(bucket: string, key: string): Promise<Buffer>;
  workerEnv(extra?: Record<string, string>): Record<string, string>;
  /** A `cti-server worker` with the rig's environment; an `extra` value undefined removes that variable. */
  spawnWorker(extra?: Record<string, string | undefined>): SpawnedWorker;
  waitForStatus(scanId: string, status: string, timeoutMs?: number): Promise<void>;
  /**
   * Grades `scanIds` with a worker of their own (started now, stopped once all are graded) and returns
   * each one's result: grade, grade_reasons, features_used.
   */
  gradeWithOwnWorker(scanIds: string[], timeoutMs?: number): Promise<GradedRow[]>;
  close(): Promise<void>;
};

/** A grading result as the rig's gradeWithOwnWorker reads it (grade, grade_reasons, features_used). */
export type GradedRow = Row;

let captureCounter = 0;

/** The environment of a `cti-server worker` against a test database and s3rver (port 0, localhost). */
export function workerEnvFor({
  databaseUrl,
  s3Endpoint,
}: {
  databaseUrl: string;
  s3Endpoint: string;
}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    S3_ENDPOINT: s3Endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    CTI_S3_BUCKETS: TEST_BUCKET,
    CTI_WORKER_HOST: '127.0.0.1',
    CTI_WORKER_PORT: '0',
  };
}

/**
 * Uploads a capture as the agent would (image, then meta.json) to s3rver and returns the webhook body
 * the relay would send for it (meta.json's hash and size, object details).
 */
export async function uploadCapture(
  client: S3Client,
  {
    image,
    mask,
    stored = image,
    meta: overrides = {},
    deviceCode = 'dev-0001',
    captureId,
    farmId = null,
    capturedAt = '2025-09-09T14:18:32Z',
    bucket = TEST_BUCKET,
  }: IngestOptions & { captureId: string; farmId?: string | null; capturedAt?: string; bucket?: string },
): Promise<WebhookBody> {
  const meta = exampleMeta({
    device_code: deviceCode,
    capture_id: captureId,
    captured_at: capturedAt,
    farm_id: farmId,
    image_sha256: sha256(image),
    mask_sha256: mask ? sha256(mask) : null,
    files: { image_relpath: 'image.png', mask_relpath: mask ? 'mask.png' : null, extra: [] },
    inference_summary: null,
    ...overrides,
  });
  const metaBytes = Buffer.from(`${JSON.stringify(meta, null, 2)}\n`);
  const parts = { deviceCode, capturedAt: meta.captured_at, captureId };
  const files: [string, Buffer][] = [
    ['image.png', stored],
    ...(mask ? [['mask.png', mask] as [string, Buffer]] : []),
    ['meta.json', metaBytes],
  ];
  for (const [file, body] of files) {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: rawObjectKey({ ...parts, file }), Body: body }),
    );
  }
  return {
    ...exampleWebhookBody({ bucket, meta_json: meta }),
    meta_sha256: sha256(metaBytes),
    meta_size_bytes: metaBytes.length,
    object_details: [
      { name: 'image.png', size_bytes: image.length, sha256: sha256(image) },
      ...(mask ? [{ name: 'mask.png', size_bytes: mask.length, sha256: sha256(mask) }] : []),
      { name: 'meta.json', size_bytes: metaBytes.length, sha256: sha256(metaBytes) },
    ],
    relay: { source: 'test-relay', event_id: captureId, emitted_at: '2025-09-09T14:18:40Z' },
  };
}

/**
 * Builds the rig: database + an S3 store (s3rver, or Ceph RGW with `{ s3: 'rgw' }`) + ingest app +
 * users (admin, technician, a farmer of the scans' farm).
 */
export async function createGradingRig({
  s3: kind = 's3rver',
}: {
  s3?: S3PeerKind;
} = {}): Promise<GradingRig> {
  const db = await createTestDatabase({ max: 6 });
  const peer = await startS3Peer(kind);
  // s3rver is this rig's own: the fixed test bucket. RGW may be shared: a bucket of its own.
  const bucket = await peer.createBucket(kind === 's3rver' ? { name: TEST_BUCKET } : {});
  const s3: GradingStore = {
    kind,
    client: peer.client,
    endpoint: peer.endpoint,
    env: peer.env,
    bucket,
    port: Number(new URL(peer.endpoint).port),
  };
  const app = createTestApp(db.sql, { s3Buckets: [bucket] });
  const [farm] = await db.sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('North barn') RETURNING id`;
  const [other] = await db.sql<{ id: string }[]>`INSERT INTO farms (name) VALUES ('Elsewhere') RETURNING id`;
  const user = async (email: string, role: string, farmId?: string) => {
    const [u] = await db.sql<{ id: string }[]>`INSERT INTO users (email) VALUES (${email}) RETURNING id`;
    await db.sql`INSERT INTO user_roles (user_id, role_id) SELECT ${u!.id}, id FROM roles WHERE name = ${role}`;
    if (farmId)
      await db.sql`INSERT INTO user_farms (user_id, farm_id, role) VALUES (${u!.id}, ${farmId}, ${role})`;
    return u!.id;
  };
  const users = {
    admin: await user('admin@example.com', 'admin'),
    // Assigned to the farm: farm-scoped notifications go to that farm's technicians only.
    technician: await user('tech@example.com', 'technician', farm!.id),
    farmer: await user('farmer@example.com', 'farmer', farm!.id),
    otherFarmer: await user('other@example.com', 'farmer', other!.id),
  };
  const children: ChildProcess[] = [];
  const rig: GradingRig = {
    db,
    s3,
    app,
    farmId: farm!.id,
    users,
    async ingest({ image, mask, stored = image, meta, deviceCode = 'dev-0001', specBody = false }) {
      const captureId = `cap_${process.pid}_${++captureCounter}`;
      let body: WebhookBody = await uploadCapture(s3.client, {
        bucket,
        image,
        mask,
        stored,
        meta,
        deviceCode,
        captureId,
        farmId: farm!.id,
      });
      if (specBody) {
        const { meta_sha256, meta_size_bytes, object_details, relay, ...spec } = body;
        body = spec;
      }
      const res = await app.app.request('/ingest/webhook', signedInit(body));
      if (res.status !== 201) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      const { scan_id: scanId } = (await res.json()) as { scan_id: string };
      return { scanId, captureId };
    },
    async objectBytes(bucket, key) {
      const out = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await out.Body!.transformToByteArray());
    },
    workerEnv(extra = {}) {
      return {
        PATH: process.env.PATH ?? '',
        ...workerEnvFor({ databaseUrl: db.url, s3Endpoint: s3.endpoint }),
        ...peer.env,
        CTI_S3_BUCKETS: bucket,
        CTI_WORKER_POLL_MS: '1000',
        CTI_GRADING_LEASE_S: '6',
        CTI_GRADING_RETRY_BASE_MS: '100',
        CTI_GRADING_RETRY_CAP_MS: '1000',
        CTI_SHUTDOWN_TIMEOUT_MS: '15000',
        LOG_LEVEL: 'info',
        ...extra,
      };
    },
    spawnWorker(extra = {}) {
      const env = Object.fromEntries(
        Object.entries({ ...rig.workerEnv(), ...extra }).filter(([, v]) => v !== undefined),
      );
      const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, MAIN, 'worker'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      const lines: string[] = [];
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const waitForLog = (msg: string, timeoutMs = 60_000) =>
        waitFor(
          () =>
            lines
              .map((l) => {
                try {
                  return JSON.parse(l) as Record<string, unknown>;
                } catch {
                  return undefined;
                }
              })
              .find((entry) => entry?.msg === msg),
          { what: `worker log "${msg}"; stderr: ${stderr.slice(-2000)}`, timeoutMs },
        );
      return {
        child,
        lines,
        stderr: () => stderr,
        exit,
        waitForLog,
        port: async () => Number((await waitForLog('listening')).port),
      };
    },
    async waitForStatus(scanId, status, timeoutMs = 60_000) {
      try {
        await waitFor(
          async () =>
            (await db.sql`SELECT 1 FROM scans WHERE id = ${scanId} AND status = ${status}::scan_status`)
              .length === 1,
          { what: `scan ${scanId} ${status}`, timeoutMs, intervalMs: 50 },
        );
      } catch (error) {
        // Where it stopped instead: the scan's status and its jobs, to tell a slow grading from a stuck one.
        const jobs = await db.sql`
          SELECT s.status AS scan_status, j.status, j.attempts, j.last_error_code, j.last_error,
                 j.lease_expires_at, now() AS now
            FROM scans s LEFT JOIN grading_jobs j ON j.scan_id = s.id WHERE s.id = ${scanId}`;
        throw new Error(`${(error as Error).message}; now: ${JSON.stringify(jobs)}`, { cause: error });
      }
    },
    async gradeWithOwnWorker(scanIds, timeoutMs = 60_000) {
      const worker = this.spawnWorker({ CTI_WORKER_POLL_MS: '200' });
      try {
        for (const id of scanIds) await this.waitForStatus(id, 'graded', timeoutMs);
      } finally {
        worker.child.kill('SIGTERM');
        await worker.exit;
      }
      const out: GradedRow[] = [];
      for (const id of scanIds) {
        const [r] = await db.sql`
          SELECT grade, grade_reasons, features_used FROM grading_results WHERE scan_id = ${id}`;
        out.push(r!);
      }
      return out;
    },
    async close() {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all(
        children.map((c) =>
          c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null,
        ),
      );
      await app.close();
      await peer.close();
      await db.drop();
    },
  };
  return rig;
}
