// The server image, run for real with podman (built by scripts/test-container.sh, `pnpm test:container`,
// which passes its tag as CTI_SERVER_IMAGE). On the host's network, so the container reaches the
// test Postgres on 127.0.0.1 and the host reaches the container's port.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { signWebhook } from '@cti/contracts';
import { exampleWebhookBody } from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { startS3rver, waitFor } from '@cti/testkit';
import { phantomPng, sha256, uploadCapture } from '../src/grading/test-grading-rig.ts';
import { loadWorkerConfig } from '../src/grading/worker-config.ts';

const IMAGE = process.env.CTI_SERVER_IMAGE;
if (!IMAGE)
  throw new Error('CTI_SERVER_IMAGE is not set: run `pnpm test:container` (scripts/test-container.sh)');
const SIZE_LIMIT_MB = 300;
const SECRET = 'container-test-secret-0123456789';
const BUCKET = 'cti-dev-406214277746';
const NAME = `cti-server-test-${process.pid}`;
const WORKER = `${NAME}-worker`;
const run = promisify(execFile);
const podman = async (...args: string[]) =>
  (await run('podman', args, { maxBuffer: 16 << 20 })).stdout.trim();
/** Exit status of a podman command (0 = success), its output beside. */
const podmanStatus = (...args: string[]) =>
  run('podman', args).then(
    ({ stdout }) => ({ code: 0, out: stdout.trim() }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code ?? -1,
      out: `${err.stdout ?? ''}${err.stderr ?? ''}`.trim(),
    }),
  );
/** Run a shell command in a throw-away container of the image (entrypoint replaced). */
const inImage = (script: string, workdir = '/app') =>
  podman('run', '--rm', '--network=none', '--workdir', workdir, '--entrypoint', 'sh', IMAGE, '-c', script);

let db: TestDatabase;
let port: number;
let base: string;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  db = await createTestDatabase({ migrated: false }); // extensions only: the container migrates it
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await podmanStatus('rm', '--force', NAME);
  await podman(
    'run',
    '--detach',
    '--name',
    NAME,
    '--read-only',
    '--read-only-tmpfs=false',
    '--network=host',
    '--env',
    `DATABASE_URL=${db.url}`,
    '--env',
    `CTI_WEBHOOK_SECRETS=${SECRET}`,
    '--env',
    `CTI_S3_BUCKETS=${BUCKET}`,
    '--env',
    'CTI_MIGRATE_ON_START=1',
    '--env',
    'HOST=127.0.0.1',
    '--env',
    `PORT=${port}`,
    IMAGE,
  );
});

after(async () => {
  const logs = await podmanStatus('logs', NAME);
  if (process.exitCode) console.log(`container logs:\n${logs.out}`);
  await podmanStatus('rm', '--force', '--time', '0', NAME);
  await db?.drop();
});

test('runs as the unprivileged node user, and cannot rewrite its own code', async () => {
  await waitFor(async () => (await fetch(`${base}/healthz`)).ok, { what: '/healthz', timeoutMs: 60_000 });
  assert.equal(await podman('exec', NAME, 'id', '-u'), '1000');
  assert.equal(await podman('image', 'inspect', '--format', '{{.Config.User}}', IMAGE), 'node');
  const write = await podmanStatus('exec', NAME, 'sh', '-c', 'touch /app/apps/server/dist/main.js');
  assert.notEqual(write.code, 0, 'the app files are read-only for the app user');
});

test('migrates the fresh database on start and answers /readyz', async () => {
  const files = readdirSync(
    fileURLToPath(new URL('../../../packages/db/migrations', import.meta.url)),
  ).filter((f) => f.endsWith('.sql'));
  const ready = await waitFor(
    async () => {
      const res = await fetch(`${base}/readyz`);
      return res.ok ? ((await res.json()) as { status: string; migrations: number }) : undefined;
    },
    { what: '/readyz', timeoutMs: 60_000 },
  );
  assert.deepEqual(ready, { status: 'ready', migrations: files.length });
  const [row] = await db.sql`select count(*)::int as n from schema_migrations`;
  assert.equal(row?.n, files.length);
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
});

// Review r22 F2: the documented one-off migration job could not run from the image.
test('the one-off job `<image> migrate` (read-only root) migrates a fresh database; `migrate status` says current', async () => {
  const fresh = await createTestDatabase({ migrated: false });
  try {
    const job = (...args: string[]) =>
      podmanStatus(
        'run',
        '--rm',
        '--read-only',
        '--network=host',
        '-e',
        `DATABASE_URL=${fresh.url}`,
        IMAGE,
        ...args,
      );
    const before = await job('migrate', 'status');
    assert.equal(before.code, 1, before.out);
    assert.match(before.out, /^pending {2}0001_spec_schema\.sql$/m);
    const first = await job('migrate');
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /^migrations: applying 0001_spec_schema\.sql$/m);
    assert.match(first.out, /migrations: applied \d+, database is at /);
    const again = await job('migrate');
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /^migrations: database is up to date \(\d+ applied\)$/);
    const after = await job('migrate', 'status');
    assert.equal(after.code, 0, after.out);
    assert.match(after.out, /\ncurrent$/);
  } finally {
    await fresh.drop();
  }
});

test('ingests a webhook signed on the host: one scan row', async () => {
  const body = Buffer.from(JSON.stringify(exampleWebhookBody()));
  const res = await fetch(`${base}/ingest/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signWebhook({ body, secret: SECRET }) },
    body,
  });
  const answer = (await res.json()) as { scan_id?: string };
  assert.equal(res.status, 201, JSON.stringify(answer));
  const scans = await db.sql`select id, status::text from scans`;
  assert.equal(scans.length, 1);
  assert.equal(scans[0]?.status, 'ingested');
  const unsigned = await fetch(`${base}/ingest/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  assert.equal(unsigned.status, 401);
});

test("serve runs as PID 1 (the entrypoint execs node) without the worker's V8 flags", async () => {
  const argv = (await podman('exec', NAME, 'cat', '/proc/1/cmdline')).split('\0').filter(Boolean);
  assert.deepEqual(argv, ['node', 'dist/main.js', 'serve']);
});

test('its HEALTHCHECK passes', async () => {
  const check = await podmanStatus('healthcheck', 'run', NAME);
  assert.equal(check.code, 0, check.out);
  assert.match(
    await podman('inspect', '--format', '{{.Config.Healthcheck.Test}}', NAME),
    /container-healthcheck\.js/,
  );
});

test('carries the worker runtime: @cti/models with its ONNX files, onnxruntime-node (this platform only) and sharp', async () => {
  const script = `
    const sharp = (await import('sharp')).default;
    const { loadSegmentationModel } = await import('./dist/index.js');
    const [w, h] = [320, 240];
    const px = Buffer.alloc(w * h, 20);
    for (let y = 60; y < 160; y++) for (let x = 100; x < 220; x++) px[y * w + x] = 90 + ((x * y) % 40);
    const png = await sharp(px, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
    const model = await loadSegmentationModel();
    const r = await model.run(new Uint8Array(png));
    console.log(JSON.stringify({ model: r.model, sha256: r.sha256, width: r.mask.width, card: model.card.file }));
    await model.close();`;
  const out = await podman(
    'run',
    '--rm',
    '--network=none',
    '--workdir',
    '/app/packages/models',
    '--entrypoint',
    'node',
    IMAGE,
    '--input-type=module',
    '-e',
    script,
  );
  const result = JSON.parse(out.split('\n').at(-1) ?? '{}') as {
    model: string;
    sha256: string;
    width: number;
  };
  assert.match(result.model, /^ribeye-seg@/);
  assert.match(result.sha256, /^[0-9a-f]{64}$/);
  assert.equal(result.width, 320);
  const platforms = await inImage(
    'ls -d node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*/*/* | sed "s|.*/bin/||"',
  );
  assert.deepEqual(platforms.split('\n'), ['napi-v6/linux/x64']);
});

test('holds production dependencies only: no test kit, no compiler, no dev tools', async () => {
  const store = (await inImage('ls node_modules/.pnpm')).split('\n');
  for (const dev of [
    's3rver@',
    'koa@',
    'typescript@',
    'playwright-core@',
    '@biomejs',
    'turbo@',
    'esbuild@',
  ]) {
    assert.deepEqual(
      store.filter((name) => name.startsWith(dev.replace('/', '+'))),
      [],
      `${dev} is not in the image`,
    );
  }
  const npm = await podmanStatus(
    'run',
    '--rm',
    '--network=none',
    '--entrypoint',
    'sh',
    IMAGE,
    '-c',
    'command -v npm',
  );
  assert.notEqual(npm.code, 0, `no npm in the runtime image (${npm.out})`);
  const workspace = (await inImage('ls apps packages')).split(/\s+/).sort();
  assert.deepEqual(workspace, [
    'apps:',
    'contracts',
    'db',
    'imaging',
    'models',
    'packages:',
    'runtime',
    'server',
  ]);
});

test(`the image is at most ${SIZE_LIMIT_MB} MB; what is in it`, async () => {
  const bytes = Number(await podman('image', 'inspect', '--format', '{{.Size}}', IMAGE));
  const baseImage = await podman(
    'image',
    'inspect',
    '--format',
    '{{range .Config.Env}}{{println .}}{{end}}',
    IMAGE,
  );
  // Most specific paths first: du counts a file once, under the first argument that holds it.
  const breakdown = await inImage(
    'du -sk /usr/local/bin/node /app/node_modules/.pnpm/* /app/packages/models/models /app/*/*/dist ' +
      '/app /usr /var /etc 2>/dev/null | sort -rn | head -14',
  );
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const lines = breakdown
    .split('\n')
    .map((l) => l.split('\t'))
    .map(([kb, path]) => `${mb(Number(kb)).padStart(7)} MB  ${path}`);
  console.log(
    `image ${IMAGE}: ${(bytes / 1e6).toFixed(1)} MB (limit ${SIZE_LIMIT_MB} MB); ` +
      `build ${process.env.CTI_CONTAINER_BUILD_SECONDS ?? '?'} s\n${lines.join('\n')}`,
  );
  assert.ok(baseImage.includes('NODE_ENV=production'));
  assert.ok(bytes <= SIZE_LIMIT_MB * 1e6, `image is ${(bytes / 1e6).toFixed(1)} MB`);
});

test("the same image runs `cti-server worker`: it grades a scan the server ingested, answers /healthz, passes the image's own health check on the worker's port, stops with 0", async () => {
  const s3 = await startS3rver({ buckets: [BUCKET] });
  const workerPort = await freePort();
  try {
    const image = await phantomPng(5);
    const body = await uploadCapture(s3.client, {
      bucket: BUCKET,
      image,
      captureId: 'cap_container_worker',
      meta: { acquisition: { pixel_spacing_mm: 0.4 } },
    });
    const raw = Buffer.from(JSON.stringify(body));
    const res = await fetch(`${base}/ingest/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signWebhook({ body: raw, secret: SECRET }) },
      body: raw,
    });
    assert.equal(res.status, 201);
    const { scan_id: scanId } = (await res.json()) as { scan_id: string };
    // compose.yaml's worker health check is the image's own, which finds the worker's port itself.
    const compose = readFileSync(
      fileURLToPath(new URL('../../../infra/docker/compose.yaml', import.meta.url)),
      'utf8',
    );
    const workerService = compose.slice(compose.indexOf('\n  worker:'));
    assert.match(workerService, /test: \["CMD", "node", "dist\/cli\/container-healthcheck\.js"\]/);
    // compose kills the worker after stop_grace_period: that must leave its own shutdown limit room.
    const grace = Number(/stop_grace_period: (\d+)s/.exec(workerService)?.[1]) * 1000;
    const { shutdownTimeoutMs } = loadWorkerConfig({
      DATABASE_URL: 'postgres://localhost/x',
      CTI_S3_BUCKETS: BUCKET,
      AWS_REGION: 'us-east-1',
    });
    assert.ok(grace > shutdownTimeoutMs, `worker stop_grace_period ${grace} ms > ${shutdownTimeoutMs} ms`);
    await podmanStatus('rm', '--force', WORKER);
    await podman(
      'run',
      '--detach',
      '--name',
      WORKER,
      '--read-only',
      '--read-only-tmpfs=false',
      '--network=host',
      ...[
        `DATABASE_URL=${db.url}`,
        `S3_ENDPOINT=${s3.endpoint}`,
        'AWS_REGION=us-east-1',
        'AWS_ACCESS_KEY_ID=S3RVER',
        'AWS_SECRET_ACCESS_KEY=S3RVER',
        `CTI_S3_BUCKETS=${BUCKET}`,
        'CTI_WORKER_HOST=127.0.0.1',
        `CTI_WORKER_PORT=${workerPort}`,
      ].flatMap((e) => ['--env', e]),
      IMAGE,
      'worker',
    );
    await waitFor(
      async () => (await db.sql`SELECT 1 FROM scans WHERE id = ${scanId} AND status = 'graded'`).length === 1,
      { what: `scan ${scanId} graded by the worker container`, timeoutMs: 120_000, intervalMs: 250 },
    );
    const assets = await db.sql<{ role: string; object_key: string; sha256: string; size_bytes: string }[]>`
      SELECT l.role, a.object_key, a.sha256, a.size_bytes::text
      FROM grading_results g JOIN grading_result_assets l ON l.grading_result_id = g.id
      JOIN assets a ON a.id = l.asset_id WHERE g.scan_id = ${scanId} ORDER BY l.role`;
    assert.deepEqual(
      assets.map((a) => a.role),
      ['mask', 'overlay'],
    );
    for (const a of assets) {
      const out = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: a.object_key }));
      const bytes = await out.Body!.transformToByteArray();
      assert.equal(sha256(bytes), a.sha256.trim(), `${a.role} in S3 is the asset row's bytes`);
      assert.equal(bytes.length, Number(a.size_bytes));
    }
    const health = await fetch(`http://127.0.0.1:${workerPort}/healthz`);
    assert.equal(health.status, 200);
    const check = await podmanStatus('healthcheck', 'run', WORKER);
    assert.equal(check.code, 0, check.out);
    await podman('stop', '--time', '35', WORKER);
    assert.equal(await podman('inspect', '--format', '{{.State.ExitCode}}', WORKER), '0');
    const logs = await podman('logs', WORKER);
    assert.match(logs, /"msg":"worker started"/);
    assert.match(logs, /"msg":"job done"/);
    // The entrypoint gave `worker` its V8 flags (the worker warns at start-up when one is missing).
    assert.doesNotMatch(logs, /started without the recommended node flags/);
  } finally {
    const logs = await podmanStatus('logs', WORKER);
    if (process.exitCode) console.log(`worker container logs:\n${logs.out}`);
    await podmanStatus('rm', '--force', '--time', '0', WORKER);
    await s3.close();
  }
});

// Last: it stops the container.
test('`podman stop` ends it cleanly: exit status 0 within the grace period', async () => {
  const started = Date.now();
  await podman('stop', '--time', '25', NAME);
  const code = await podman('inspect', '--format', '{{.State.ExitCode}}', NAME);
  assert.equal(code, '0');
  assert.ok(Date.now() - started < 25_000, 'stopped on SIGTERM, not killed after the grace period');
  const logs = await podman('logs', NAME);
  assert.match(logs, /"msg":"listening"/);
});
