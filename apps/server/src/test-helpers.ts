// Shared by the server's tests (excluded from the build): a real app on a real test database,
// signed webhook requests, and row counts of every table ingest writes.
import { createHash } from 'node:crypto';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signWebhook, type WebhookBody } from '@cti/contracts';
import { EXAMPLE_BUCKET, exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { type Logger, silentLogger } from '@cti/runtime';
import type { Sql } from 'postgres';
import { createApp, type ServerApp } from './app.ts';
import {
  type AppConfig,
  type AuthConfig,
  loadAuthConfig,
  loadDeviceHealthConfig,
  loadExportConfig,
} from './config.ts';
import { createDatabaseClient } from './db/database-client.ts';
import { listen, type RunningServer } from './http-server.ts';
import { createServerMetrics, type ServerMetrics } from './metrics.ts';

/**
 * Node arguments that run `src/main.ts` from source: the load hook compiling the dashboard's `.tsx`
 * (Node strips the types of `.ts` itself). Spawned-server tests put these before the script path.
 */
export const SOURCE_NODE_ARGS = [
  '--import',
  fileURLToPath(new URL('../scripts/register-jsx.ts', import.meta.url)),
];

export const TEST_SECRET = 'test-secret-0123456789abcdef';
export const OLD_SECRET = 'old-secret-0123456789abcdef';
export const TEST_BUCKET = EXAMPLE_BUCKET;

export const testConfig = (overrides: Partial<AppConfig> = {}): AppConfig => ({
  webhookSecrets: [TEST_SECRET, OLD_SECRET],
  s3Buckets: [TEST_BUCKET, 'cti-prod-bucket'],
  bodyLimitBytes: 1024 * 1024,
  signatureToleranceSeconds: 300,
  retryAfterSeconds: 7,
  devices: loadDeviceHealthConfig({}),
  auth: testAuthConfig(),
  api: { signedUrlTtlSeconds: 300, s3: undefined, s3PublicEndpoint: undefined },
  exports: loadExportConfig({}),
  web: { mapTileUrl: undefined, mapTileAttribution: undefined },
  ...overrides,
});

/** Production defaults except a cheap scrypt cost (hashes carry their parameters) and plain-HTTP cookies. */
export const testAuthConfig = (overrides: Partial<AuthConfig> = {}): AuthConfig => ({
  ...loadAuthConfig({}),
  scrypt: { log2N: 10, r: 8, p: 1 },
  insecureLocalhostCookies: true,
  // app.request() has no socket: every in-process request comes from the address 'unknown'.
  registrationAddressLimit: 10_000,
  // No session cache unless a test asks for one: tests that change a session or an account with SQL
  // expect the next request to see it, while the cache learns it from an announcement a moment later.
  sessionCacheSeconds: 0,
  ...overrides,
});

export type TestApp = ServerApp & { metrics: ServerMetrics };

export function createTestApp(
  sql: Sql,
  overrides: Partial<AppConfig> = {},
  {
    clock,
    plannedSql,
    log = silentLogger(),
    liveRecheckMs,
  }: { clock?: () => number; plannedSql?: Sql; log?: Logger; liveRecheckMs?: number } = {},
): TestApp {
  const metrics = createServerMetrics({ dbPoolMax: 10, defaults: false });
  return {
    ...createApp({ sql, plannedSql, config: testConfig(overrides), log, metrics, clock, liveRecheckMs }),
    metrics,
  };
}

export type TestAppContext = { readonly db: TestDatabase; readonly server: TestApp };

/**
 * Registers file-level before/after hooks that create a fresh migrated test database with an app on it,
 * then run `seed`, and close/drop both at the end. Read `db` and `server` inside tests and hooks (not at module load).
 */
export function useTestApp(
  overrides: Partial<AppConfig> = {},
  { seed }: { seed?: (ctx: { db: TestDatabase; server: TestApp }) => Promise<void> } = {},
): TestAppContext {
  let db: TestDatabase | undefined;
  let server: TestApp | undefined;
  let appSql: Sql | undefined;
  let plannedSql: Sql | undefined;
  // One hook: node:test starts a file's root-level before() hooks concurrently, so seeding in a second
  // hook could run before the database exists.
  before(async () => {
    db = await createTestDatabase();
    // As in production (serve-command.ts): the app's pools are the server's own client (its parsers
    // and connection parameters: text[] items, extra_float_digits), the hot reads on one that plans
    // each statement once. `db.sql` stays the test's own connection for seeding and checking.
    appSql = createDatabaseClient({ url: db.url, max: 5, connectTimeoutSeconds: 5 });
    plannedSql = createDatabaseClient({ url: db.url, max: 2, connectTimeoutSeconds: 5, genericPlans: true });
    server = createTestApp(appSql, overrides, { plannedSql });
    await seed?.({ db, server });
  });
  after(async () => {
    await server?.close();
    await appSql?.end({ timeout: 5 });
    await plannedSql?.end({ timeout: 5 });
    await db?.drop();
  });
  const notReady = (what: string): never => {
    throw new Error(`useTestApp: ${what} is only available inside tests and hooks, after before() ran`);
  };
  return {
    get db() {
      return db ?? notReady('db');
    },
    get server() {
      return server ?? notReady('server');
    },
  };
}

export async function listenTestApp(app: TestApp): Promise<RunningServer & { url: string }> {
  const server = await listen({ app: app.app, host: '127.0.0.1', port: 0 });
  return { ...server, url: `http://127.0.0.1:${server.port}` };
}

export type SignOptions = {
  secret?: string;
  timestamp?: number;
  contentType?: string | null;
  headers?: Record<string, string>;
};

/** A POST /ingest/webhook RequestInit whose body (object → JSON, string/bytes as given) is signed. */
export function signedInit(
  body: unknown,
  { secret = TEST_SECRET, timestamp, contentType = 'application/json', headers = {} }: SignOptions = {},
): RequestInit {
  const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const signature = signWebhook({ body: raw, secret, ...(timestamp === undefined ? {} : { timestamp }) });
  return {
    method: 'POST',
    body: raw as string,
    headers: { ...signature, ...(contentType === null ? {} : { 'content-type': contentType }), ...headers },
  };
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A valid, distinct capture `i` (spread over 8 devices and 30 days), with the relay's additive fields. */
export function distinctWebhook(i: number, { devices = 8 } = {}): WebhookBody {
  const day = String((i % 28) + 1).padStart(2, '0');
  const meta = exampleMeta({
    device_code: `dev-${String(i % devices).padStart(4, '0')}`,
    capture_id: `cap_${1757400000 + i}`,
    captured_at: `2025-09-${day}T10:00:00Z`,
    image_sha256: sha256(`image ${i}`),
  });
  return withRelayFields(exampleWebhookBody({ meta_json: meta }), i);
}

/** Adds what the real relay sends beyond spec §5.3: meta.json's hash and size, object sizes. */
export function withRelayFields(body: WebhookBody, seed: number | string = 0): WebhookBody {
  const metaHash = sha256(`meta ${seed} ${body.ingest_key}`);
  return {
    ...body,
    meta_sha256: metaHash,
    meta_size_bytes: 612,
    object_details: body.objects.map((name) => ({
      name,
      size_bytes: name === 'meta.json' ? 612 : 123_456,
      sha256: name === 'meta.json' ? metaHash : null,
    })),
    relay: { source: 'test-relay', event_id: `evt-${seed}`, emitted_at: '2025-09-09T14:18:40Z' },
  };
}

export type RowCounts = {
  scans: number;
  assets: number;
  devices: number;
  scanEvents: number;
  gradingJobs: number;
  ingestionLog: number;
};

export async function countRows(sql: Sql): Promise<RowCounts> {
  const [row] = await sql<RowCounts[]>`
    SELECT (SELECT count(*) FROM scans)::int AS scans, (SELECT count(*) FROM assets)::int AS assets,
           (SELECT count(*) FROM devices)::int AS devices, (SELECT count(*) FROM scan_events)::int AS "scanEvents",
           (SELECT count(*) FROM grading_jobs)::int AS "gradingJobs",
           (SELECT count(*) FROM ingestion_log)::int AS "ingestionLog"`;
  return row!;
}

/** Fisher-Yates with a seeded LCG, so a "random order" is the same on every run. */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  const out = [...items];
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
