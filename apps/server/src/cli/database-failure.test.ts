import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { SOURCE_NODE_ARGS } from '../test-helpers.ts';

// The real program, spawned: a one-shot command whose database is unreachable, refuses the password
// or was never migrated says so in one line (exit 1) instead of printing the driver's stack trace.

const MAIN = new URL('../main.ts', import.meta.url).pathname;
let empty: TestDatabase;
before(async () => {
  empty = await createTestDatabase({ migrated: false });
});
after(() => empty.drop());

function run(args: string[], url: string) {
  return spawnSync(process.execPath, [...SOURCE_NODE_ARGS, MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: url },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function assertOneLine(res: ReturnType<typeof run>, pattern: RegExp) {
  assert.equal(res.status, 1, res.stderr);
  assert.match(res.stderr, pattern);
  assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(res.stderr, /wrong-secret-pw/, 'the password is not echoed');
}

test('unreachable database, wrong password, unmigrated schema: one line naming the problem, exit 1', async () => {
  const port = await closedPort();
  assertOneLine(
    run(['device', 'list'], `postgres://cti:wrong-secret-pw@127.0.0.1:${port}/cti`),
    /^cti-server device: cannot use the database at DATABASE_URL: .*ECONNREFUSED/m,
  );
  const badPassword = new URL(empty.url);
  badPassword.password = 'wrong-secret-pw';
  assertOneLine(
    run(['regrade', '--all', '--dry-run'], badPassword.href),
    /^cti-server regrade: cannot use the database at DATABASE_URL: password authentication failed/m,
  );
  assertOneLine(
    run(['device', 'list'], empty.url),
    /^cti-server device: the database at DATABASE_URL is not migrated to this version \(.*\); run `cti-server migrate` \(or `cti-db migrate`\)$/m,
  );
});

test('serve with CTI_MIGRATE_ON_START=1 on a database migrated by a newer release: one line, exit 1', async () => {
  const newer = await createTestDatabase();
  try {
    await newer.sql`
      INSERT INTO schema_migrations(version, name, checksum) VALUES (9999, '9999_from_a_newer_release.sql', ${'a'.repeat(64)})`;
    const res = spawnSync(process.execPath, [...SOURCE_NODE_ARGS, MAIN, 'serve'], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: newer.url,
        CTI_WEBHOOK_SECRETS: 'a-webhook-secret-long-enough',
        CTI_S3_BUCKETS: 'cti-dev-406214277746',
        CTI_MIGRATE_ON_START: '1',
        PORT: '0',
        LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(res.status, 1, res.stderr);
    assert.match(
      res.stderr,
      /^cti-server serve: cannot migrate the database at DATABASE_URL: 9999_from_a_newer_release\.sql is applied in the database .* but missing on disk; this code is older than the database schema$/m,
    );
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    await newer.drop();
  }
});
