import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { signWebhook } from '@cti/contracts';
import { LOCK_NAMESPACE, listMigrations } from '@cti/db';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { waitFor } from '@cti/testkit';
import { COMMAND_USAGE } from './cli/command-usage.ts';
import { workerEnvFor } from './grading/test-grading-rig.ts';
import { distinctWebhook, SOURCE_NODE_ARGS, TEST_BUCKET, TEST_SECRET } from './test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from './test-seed.ts';

// The real program, spawned: configuration errors, migrate-on-start, graceful SIGTERM.

const MAIN = new URL('./main.ts', import.meta.url).pathname;
const databases: TestDatabase[] = [];
const children: ChildProcess[] = [];
after(async () => {
  // A failed assertion must not leave a server running: it would keep this test process alive.
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const db of databases) await db.drop();
});

type Spawned = {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exit: Promise<number | null>;
  waitForLog: (msg: string) => Promise<Record<string, unknown>>;
};

function spawnServer(env: Record<string, string | undefined>, args: string[] = []): Spawned {
  const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, MAIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForLog = (msg: string) =>
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
      { what: `log line "${msg}"; stdout so far: ${lines.join('\n')} stderr: ${stderr}`, timeoutMs: 30_000 },
    );
  return { child, lines, stderr: () => stderr, exit, waitForLog };
}

const validEnv = (databaseUrl: string) => ({
  DATABASE_URL: databaseUrl,
  CTI_WEBHOOK_SECRETS: TEST_SECRET,
  CTI_S3_BUCKETS: TEST_BUCKET,
  HOST: '127.0.0.1',
  PORT: '0',
});

describe('configuration errors name the setting and exit 78', () => {
  const cases: [string, Record<string, string | undefined>, RegExp][] = [
    ['DATABASE_URL missing', { DATABASE_URL: undefined }, /DATABASE_URL is not set/],
    [
      'DATABASE_URL not postgres',
      { DATABASE_URL: 'mysql://x@y/z' },
      /DATABASE_URL must start with postgres:\/\//,
    ],
    ['CTI_WEBHOOK_SECRETS missing', { CTI_WEBHOOK_SECRETS: undefined }, /CTI_WEBHOOK_SECRETS is not set/],
    [
      'CTI_WEBHOOK_SECRETS too short',
      { CTI_WEBHOOK_SECRETS: 'short' },
      /CTI_WEBHOOK_SECRETS entry 1 is shorter than 16/,
    ],
    [
      'CTI_S3_BUCKETS invalid',
      { CTI_S3_BUCKETS: 'Bad_Bucket' },
      /CTI_S3_BUCKETS has an invalid bucket name "Bad_Bucket"/,
    ],
    ['PORT not a number', { PORT: 'http' }, /PORT must be an integer from 0 to 65535/],
    [
      'CTI_MIGRATE_ON_START not a flag',
      { CTI_MIGRATE_ON_START: 'yes please' },
      /CTI_MIGRATE_ON_START must be 1\/true or 0\/false/,
    ],
    [
      'CTI_MIGRATE_LOCK_TIMEOUT_MS not a number',
      { CTI_MIGRATE_LOCK_TIMEOUT_MS: '5s' },
      /CTI_MIGRATE_LOCK_TIMEOUT_MS must be an integer from 0 to 600000/,
    ],
  ];
  for (const [name, overrides, message] of cases) {
    test(name, async () => {
      const spawned = spawnServer({ ...validEnv('postgres://cti:cti@127.0.0.1:1/none'), ...overrides });
      assert.equal(await spawned.exit, 78);
      assert.match(spawned.stderr(), /^cti-server: configuration error: /);
      assert.match(spawned.stderr(), message);
    });
  }

  test('an unknown command prints the usage and exits 2', async () => {
    const spawned = spawnServer(validEnv('postgres://cti:cti@127.0.0.1:1/none'), ['worker-typo']);
    assert.equal(await spawned.exit, 2);
    assert.match(spawned.stderr(), /unknown command "worker-typo"[\s\S]*usage: cti-server/);
    for (const name of Object.keys(COMMAND_USAGE))
      assert.match(spawned.stderr(), new RegExp(`\\n  ${name} `));
    assert.equal(spawned.lines.join(''), '', 'nothing on stdout');
  });
});

describe('a listen failure is reported as such, in one line, not as a database failure', () => {
  /** A port something already listens on (closed by the caller). */
  async function busyPort() {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, close: () => server.close() };
  }
  const oneLine = (stderr: string) => {
    assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
    assert.doesNotMatch(stderr, /DATABASE_URL|database/, stderr);
  };

  test('serve: a HOST that does not resolve, a PORT in use', async () => {
    const db = await createTestDatabase({ max: 1 });
    databases.push(db);
    const unresolvable = spawnServer({ ...validEnv(db.url), HOST: 'not_a_host', PORT: '18103' });
    assert.equal(await unresolvable.exit, 1);
    assert.match(
      unresolvable.stderr(),
      /^cti-server serve: cannot listen on not_a_host:18103 \(HOST, PORT\): host "not_a_host" does not resolve to an address \[(ENOTFOUND|EAI_AGAIN)\]\n$/,
    );
    oneLine(unresolvable.stderr());
    const busy = await busyPort();
    try {
      const inUse = spawnServer({ ...validEnv(db.url), PORT: String(busy.port) });
      assert.equal(await inUse.exit, 1);
      assert.equal(
        inUse.stderr(),
        `cti-server serve: cannot listen on 127.0.0.1:${busy.port} (HOST, PORT): port ${busy.port} is already in use on 127.0.0.1 (another process listens there) [EADDRINUSE]\n`,
      );
      oneLine(inUse.stderr());
    } finally {
      busy.close();
    }
  });

  test('worker: CTI_WORKER_PORT in use, CTI_WORKER_HOST that does not resolve', async () => {
    const db = await createTestDatabase({ max: 1 });
    databases.push(db);
    const env = workerEnvFor({ databaseUrl: db.url, s3Endpoint: 'http://127.0.0.1:9' });
    const busy = await busyPort();
    try {
      const inUse = spawnServer({ ...env, CTI_WORKER_PORT: String(busy.port) }, ['worker']);
      assert.equal(await inUse.exit, 1);
      assert.equal(
        inUse.stderr(),
        `cti-server worker: cannot listen on 127.0.0.1:${busy.port} (CTI_WORKER_HOST, CTI_WORKER_PORT): port ${busy.port} is already in use on 127.0.0.1 (another process listens there) [EADDRINUSE]\n`,
      );
    } finally {
      busy.close();
    }
    const unresolvable = spawnServer({ ...env, CTI_WORKER_HOST: 'not_a_host' }, ['worker']);
    assert.equal(await unresolvable.exit, 1);
    assert.match(
      unresolvable.stderr(),
      /^cti-server worker: cannot listen on not_a_host:0 \(CTI_WORKER_HOST, CTI_WORKER_PORT\): host "not_a_host" does not resolve/,
    );
    oneLine(unresolvable.stderr());
  });
});

describe('--help and lazy command loading', () => {
  test('--help lists every command on stdout and exits 0, without any configuration', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const spawned = spawnServer({}, [flag]);
      assert.equal(await spawned.exit, 0, flag);
      const out = spawned.lines.join('\n');
      assert.match(out, /^usage: cti-server <command> \[options\]/);
      for (const [name, line] of Object.entries(COMMAND_USAGE)) {
        assert.ok(out.includes(`  ${line}`), `${flag}: usage of ${name}`);
        assert.ok(line.startsWith(`${name} `), `${name}'s usage starts with its name`);
      }
      assert.equal(spawned.stderr(), '');
    }
  });

  test('`worker` starts from source without the JSX loader: it imports none of the dashboard (.tsx) modules', async () => {
    const db = await createTestDatabase({ max: 1 });
    databases.push(db);
    // No SOURCE_NODE_ARGS: Node cannot load a .tsx file by itself, so importing any page fails the start.
    const child = spawn(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(LOAD_HOOK)}`, MAIN, 'worker'],
      {
        env: {
          PATH: process.env.PATH,
          ...workerEnvFor({ databaseUrl: db.url, s3Endpoint: 'http://127.0.0.1:9' }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    const loaded: string[] = [];
    const lines: string[] = [];
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('LOADED ')) loaded.push(line.slice(7));
      else lines.push(line);
    });
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await waitFor(() => lines.some((l) => l.includes('"worker started"')) || child.exitCode !== null, {
      what: 'worker started',
      timeoutMs: 30_000,
    });
    assert.ok(
      lines.some((l) => l.includes('"worker started"')),
      `worker did not start: ${stderr}`,
    );
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    assert.ok(
      loaded.some((u) => u.endsWith('/grading/worker-command.ts')),
      'the hook saw the worker load',
    );
    assert.deepEqual(
      loaded.filter((u) => u.includes('/src/web/') || u.endsWith('.tsx') || u.includes('/markdown-it/')),
      [],
    );
    assert.deepEqual(
      loaded.filter((u) => /\/cli\/(serve|user)-command\.ts$/.test(u)),
      [],
    );
  });
});

/** A load hook that prints every file a process loads ("LOADED file:///…") on stdout. */
const LOAD_HOOK = `import { registerHooks } from 'node:module';
registerHooks({ load(url, context, next) { if (url.startsWith('file:')) process.stdout.write('LOADED ' + url + '\\n'); return next(url, context); } });`;

async function stopAndWait(spawned: Spawned): Promise<number | null> {
  spawned.child.kill('SIGTERM');
  return spawned.exit;
}

describe('CTI_MIGRATE_ON_START', () => {
  test('=1 migrates a bare database, then serves and is ready', async () => {
    const db = await createTestDatabase({ migrated: false });
    databases.push(db);
    const spawned = spawnServer({ ...validEnv(db.url), CTI_MIGRATE_ON_START: '1' });
    const { port } = (await spawned.waitForLog('listening')) as { port: number };
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    const applied = await db.sql`SELECT name FROM schema_migrations ORDER BY version`;
    assert.deepEqual(
      applied.map((r) => r.name),
      listMigrations().map((m) => m.file),
    );
    assert.ok(applied.length >= 2);
    assert.equal(await stopAndWait(spawned), 0);
  });

  // Review r22 F1: nothing listened while it migrated or waited for another replica's migration, so the
  // image's liveness check (/healthz) failed for as long as that took. The test holds the migration
  // lock as another replica would.
  test('=1 while another process holds the migration lock: /healthz 200, /readyz 503 migrating, the rest 503; ready after', async () => {
    const db = await createTestDatabase({ migrated: false });
    databases.push(db);
    const other = await db.sql.reserve();
    await other`SELECT pg_advisory_lock(${LOCK_NAMESPACE}, 1)`;
    const spawned = spawnServer({ ...validEnv(db.url), CTI_MIGRATE_ON_START: '1', CTI_RETRY_AFTER_S: '7' });
    const { port } = (await spawned.waitForLog(
      'listening while migrating: /healthz 200, /readyz and every other route 503 until the migrations are done',
    )) as { port: number };
    await spawned.waitForLog('migrations: another process is migrating: waiting for its lock');
    const base = `http://127.0.0.1:${port}`;
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: 'not_ready', reason: 'migrating' });
    for (const [method, path] of [
      ['GET', '/api/v1/scans'],
      ['POST', '/ingest/webhook'],
      ['GET', '/'],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 503, `${method} ${path}`);
      assert.equal(res.headers.get('retry-after'), '7');
      assert.equal(((await res.json()) as { error: string }).error, 'migrating');
    }
    assert.ok(!spawned.lines.some((l) => l.includes('"msg":"listening"')), 'announced ready while migrating');

    await other`SELECT pg_advisory_unlock(${LOCK_NAMESPACE}, 1)`;
    other.release();
    await spawned.waitForLog('listening');
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/api/v1/scans`)).status, 401, 'the full app answers');
    assert.ok(
      spawned.lines.some((l) => l.includes(`"msg":"migrations: applying ${listMigrations()[0]!.file}"`)),
      'each migration logged as it starts',
    );
    assert.equal(await stopAndWait(spawned), 0);
  });

  test('unset, a bare database is not ready and names the pending migrations', async () => {
    const db = await createTestDatabase({ migrated: false });
    databases.push(db);
    const spawned = spawnServer(validEnv(db.url));
    const { port } = (await spawned.waitForLog('listening')) as { port: number };
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { reason: string; pending: string[] };
    assert.equal(body.reason, 'migrations');
    assert.ok(body.pending.includes('0002_ingest_and_grading_queue.sql'));
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    assert.equal(await stopAndWait(spawned), 0);
  });
});

// Review r22 F3: on a database a newer release migrated, the worker told the operator to run
// `cti-db migrate`, which refuses there (the code is older than the schema).
test('worker on a database migrated by a newer release: says to deploy the new image, keeps waiting', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  await db.sql`
    INSERT INTO schema_migrations(version, name, checksum) VALUES (9999, '9999_from_a_newer_release.sql', ${'a'.repeat(64)})`;
  const spawned = spawnServer(workerEnvFor({ databaseUrl: db.url, s3Endpoint: 'http://127.0.0.1:9' }), [
    'worker',
  ]);
  const entry = await spawned.waitForLog(
    'this worker is older than the database schema: deploy the new image (waiting)',
  );
  assert.deepEqual(entry.unknown, ['9999_from_a_newer_release.sql']);
  assert.ok(!spawned.lines.some((l) => l.includes('waiting for migrations')), spawned.lines.join('\n'));
  const { port } = (await spawned.waitForLog('listening')) as { port: number };
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  assert.equal(await stopAndWait(spawned), 0);
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

// A supervisor (or a test) may send SIGTERM the instant it reads "listening": the handler must be in
// place by then, or the signal kills the process outright (exit code null, nothing flushed).
describe('SIGTERM the instant "listening" is printed: a graceful stop, exit 0', () => {
  for (const command of ['serve', 'worker'] as const) {
    test(command, async () => {
      const db = await createTestDatabase();
      databases.push(db);
      const env =
        command === 'serve'
          ? validEnv(db.url)
          : workerEnvFor({ databaseUrl: db.url, s3Endpoint: 'http://127.0.0.1:9' });
      const spawned = spawnServer(env, [command]);
      let pending = '';
      spawned.child.stdout!.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        if (pending.includes('"msg":"listening"') && spawned.child.signalCode === null)
          spawned.child.kill('SIGTERM');
      });
      const code = await spawned.exit;
      // 'exit' may come before the last output is read (Node's docs): the log is asserted on 'close'.
      if (spawned.child.stdout!.readable) await once(spawned.child, 'close');
      assert.equal(
        spawned.child.signalCode,
        null,
        `killed by the signal itself; stderr: ${spawned.stderr()}`,
      );
      assert.equal(code, 0, spawned.stderr());
      assert.ok(
        spawned.lines.some((l) => l.includes('"msg":"stopped"')),
        spawned.lines.join('\n'),
      );
    });
  }
});

test('serve folds scan_status_counts (migration 0028) into one row per farm and status as it starts', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const farm = await seedFarm(db.sql, 'Maple');
  const deviceId = await seedDevice(db.sql, 'dev-1', farm);
  for (const status of ['uploaded', 'ingested', 'graded'] as const)
    await seedScan(db.sql, { farmId: farm, deviceId, status });
  await db.sql`UPDATE scans SET status = 'graded'`;
  const rows = async () => [
    ...(await db.sql`SELECT farm_id, status::text, n::int FROM scan_status_counts ORDER BY status`),
  ];
  assert.equal((await rows()).length, 6, 'three inserts, then −uploaded, −ingested, +2 graded');
  const spawned = spawnServer(validEnv(db.url));
  await spawned.waitForLog('listening');
  await waitFor(async () => (await rows()).length === 1, { what: 'the deltas folded' });
  assert.deepEqual(await rows(), [{ farm_id: farm, status: 'graded', n: 3 }]);
  assert.equal(await stopAndWait(spawned), 0);
});

test('SIGTERM: stops accepting, finishes the in-flight webhook, writes its log row, exits 0', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const spawned = spawnServer(validEnv(db.url));
  const { port } = (await spawned.waitForLog('listening')) as { port: number };

  const payload = Buffer.from(JSON.stringify(distinctWebhook(1)));
  const headers = {
    ...signWebhook({ body: payload, secret: TEST_SECRET }),
    'content-type': 'application/json',
    'content-length': String(payload.length),
    expect: '100-continue',
  };
  const req = request({ host: '127.0.0.1', port, path: '/ingest/webhook', method: 'POST', headers });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  // "100 Continue" means the server has parsed the headers: the request is in flight, body pending.
  await new Promise<void>((resolve) => {
    req.once('continue', resolve);
    req.flushHeaders();
  });

  spawned.child.kill('SIGTERM');
  await spawned.waitForLog('shutting down');
  await waitFor(() => refused(port), { what: 'new connections refused after SIGTERM' });

  req.end(payload);
  const answer = await response;
  assert.equal(answer.status, 201, answer.body);
  assert.equal(await spawned.exit, 0);
  await spawned.waitForLog('stopped');

  const [scan] = await db.sql`SELECT capture_id FROM scans`;
  assert.equal(scan?.capture_id, 'cap_1757400001');
  const logs = await db.sql`SELECT http_status FROM ingestion_log`;
  assert.deepEqual(
    logs.map((l) => l.http_status),
    [201],
    'the in-flight request was logged before the pool closed',
  );
});

test('SIGTERM with a live scans stream open: the stream delivered a new scan, then ends, and the server exits 0 at once', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const farm = await seedFarm(db.sql, 'Live Farm');
  const device = await seedDevice(db.sql, 'dev-live', farm);
  await seedUser(db.sql, 'live@example.com', ['farmer'], { farms: [{ id: farm }] });
  // A long shutdown timeout (the HTTP server waits half of it, 60 s, for open connections): a stream
  // that did not end would hold the exit for a minute, far from the 30 s a loaded machine may need.
  const spawned = spawnServer({ ...validEnv(db.url), CTI_SHUTDOWN_TIMEOUT_MS: '120000' });
  const { port } = (await spawned.waitForLog('listening')) as { port: number };
  const signIn = await fetch(`http://127.0.0.1:${port}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'live@example.com', password: TEST_PASSWORD }),
  });
  assert.equal(signIn.status, 200);
  const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
  let received = '';
  const ended = new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/scans/events', headers: { cookie } }, (res) => {
      assert.equal(res.statusCode, 200);
      res.on('data', (c: Buffer) => (received += c.toString()));
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  await waitFor(() => received.includes('event: ready'), { what: `ready event; got ${received}` });
  const scan = await seedScan(db.sql, { farmId: farm, deviceId: device });
  await waitFor(() => received.includes(`"id":"${scan}"`), {
    what: `the new scan on the stream; got ${received}`,
  });
  assert.match(received, /event: scan/);
  const stopAt = Date.now();
  spawned.child.kill('SIGTERM');
  await ended;
  assert.equal(await spawned.exit, 0);
  assert.ok(
    Date.now() - stopAt < 30_000,
    `stopped in ${Date.now() - stopAt} ms, not at the shutdown timeout`,
  );
});

test('serve with S3 configured but no credentials (review r22 F15): one warning at start naming the settings; scan detail (API and page) 200 with null URLs; asset content 503 storage_unavailable with Retry-After', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const farm = await seedFarm(db.sql, 'Keyless Farm');
  const device = await seedDevice(db.sql, 'dev-keyless', farm);
  await seedUser(db.sql, 'keyless@example.com', ['farmer'], { farms: [{ id: farm }] });
  const scan = await seedScan(db.sql, {
    farmId: farm,
    deviceId: device,
    image: { bucket: TEST_BUCKET, key: 'raw/dev-keyless/image.png', sha256: 'a'.repeat(64), size: 10 },
  });
  // No AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (spawnServer passes only PATH and these), no profile
  // file, no instance role: the SDK's chain finds nothing. Signing is local: no S3 needs to answer.
  const spawned = spawnServer({
    ...validEnv(db.url),
    S3_ENDPOINT: 'http://127.0.0.1:9',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/cti-test-credentials',
    AWS_CONFIG_FILE: '/nonexistent/cti-test-config',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const { port } = (await spawned.waitForLog('listening')) as { port: number };
  const warning = await spawned.waitForLog(
    'S3 credentials not found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE), or a container/instance role; until then asset URLs are null and /api/v1/assets/{id}/content answers 503 storage_unavailable',
  );
  assert.equal(warning.level, 40);
  const base = `http://127.0.0.1:${port}`;
  const signIn = await fetch(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'keyless@example.com', password: TEST_PASSWORD }),
  });
  assert.equal(signIn.status, 200);
  const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
  for (let i = 0; i < 3; i++) {
    const detail = await fetch(`${base}/api/v1/scans/${scan}`, { headers: { cookie } });
    assert.equal(detail.status, 200);
    const body = (await detail.json()) as { image: { id: string; url: null; url_expires_at: null } };
    assert.equal(body.image.url, null);
    assert.equal(body.image.url_expires_at, null);
    const asset = await fetch(`${base}/api/v1/assets/${body.image.id}`, { headers: { cookie } });
    assert.equal(asset.status, 200);
    assert.equal(((await asset.json()) as { url: null }).url, null);
    const content = await fetch(`${base}/api/v1/assets/${body.image.id}/content`, {
      headers: { cookie },
      redirect: 'manual',
    });
    assert.equal(content.status, 503);
    assert.equal(content.headers.get('retry-after'), '5');
    assert.equal(((await content.json()) as { error: string }).error, 'storage_unavailable');
    const page = await fetch(`${base}/scans/${scan}`, { headers: { cookie, accept: 'text/html' } });
    assert.equal(page.status, 200);
  }
  assert.equal(
    spawned.lines.filter((l) => l.includes('S3 credentials not found')).length,
    1,
    'logged once, not per request',
  );
  assert.ok(!spawned.lines.some((l) => l.includes('"level":50')), 'no error logged (no 500)');
  spawned.child.kill('SIGTERM');
  assert.equal(await spawned.exit, 0);
});

describe('secrets from files and the published placeholder, at process level (review r22 F11)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cti-main-secrets-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const refusals: [string, Record<string, string | undefined>, RegExp][] = [
    [
      'the placeholder of compose.yaml, not a local stack',
      { CTI_WEBHOOK_SECRETS: 'local-dev-webhook-secret-change-me' },
      /CTI_WEBHOOK_SECRETS entry 1 is the placeholder published in infra\/docker\/compose\.yaml.*CTI_INSECURE_LOCALHOST_COOKIES=1/,
    ],
    [
      'DATABASE_URL and DATABASE_URL_FILE both set',
      { DATABASE_URL_FILE: file('db', 'postgres://cti:cti@127.0.0.1:1/none\n') },
      /DATABASE_URL and DATABASE_URL_FILE are both set/,
    ],
    [
      'CTI_WEBHOOK_SECRETS_FILE unreadable',
      { CTI_WEBHOOK_SECRETS: undefined, CTI_WEBHOOK_SECRETS_FILE: join(dir, 'absent') },
      /CTI_WEBHOOK_SECRETS_FILE names a file that cannot be read: .*absent \(ENOENT\)/,
    ],
  ];
  for (const [name, overrides, message] of refusals) {
    for (const command of ['serve', 'worker']) {
      // The worker reads no webhook secret: only the database URL's refusal applies to it.
      if (command === 'worker' && !name.startsWith('DATABASE_URL')) continue;
      test(`${command}: ${name} → exit 78 naming the setting`, async () => {
        const env = { ...validEnv('postgres://cti:cti@127.0.0.1:1/none'), S3_ENDPOINT: 'http://127.0.0.1:9' };
        const spawned = spawnServer({ ...env, ...overrides }, [command]);
        // Bounded: a process that accepts the setting runs on (its database is unreachable) instead.
        const code = await Promise.race([
          spawned.exit,
          new Promise((resolve) => setTimeout(resolve, 20_000, 'still running after 20 s')),
        ]);
        assert.equal(code, 78);
        assert.match(spawned.stderr(), /configuration error: /);
        assert.match(spawned.stderr(), message);
      });
    }
  }

  test("serve with DATABASE_URL_FILE, CTI_WEBHOOK_SECRETS_FILE and CTI_METRICS_TOKEN_FILE: a webhook signed with the file's secret is accepted; /metrics needs the file's token", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const token = 'metrics-token-from-a-secret-file-0123';
    const { DATABASE_URL, CTI_WEBHOOK_SECRETS, ...env } = validEnv(db.url);
    const spawned = spawnServer({
      ...env,
      DATABASE_URL_FILE: file('db-ok', `${db.url}\n`),
      CTI_WEBHOOK_SECRETS_FILE: file('webhook-ok', `${TEST_SECRET}\n`),
      CTI_METRICS_TOKEN_FILE: file('metrics-ok', `${token}\n`),
    });
    const { port } = (await spawned.waitForLog('listening')) as { port: number };
    const body = JSON.stringify(distinctWebhook(7));
    const res = await fetch(`http://127.0.0.1:${port}/ingest/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signWebhook({ body, secret: TEST_SECRET }) },
      body,
    });
    assert.equal(res.status, 201, await res.text());
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401);
    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(scrape.status, 200);
    spawned.child.kill('SIGTERM');
    assert.equal(await spawned.exit, 0);
  });
});
