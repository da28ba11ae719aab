import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { apiClient } from '../test-api-client.ts';
import { createTestApp, SOURCE_NODE_ARGS } from '../test-helpers.ts';

// The real program, spawned: `cti-server user add` creates the first admin from stdin's password.

const MAIN = new URL('../main.ts', import.meta.url).pathname;
let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

function run(args: string[], stdin: string | Buffer, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, MAIN, ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: db.url, CTI_SCRYPT_LOG2_N: '10', CTI_SCRYPT_P: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  child.stdin.on('error', () => {}); // EPIPE: the command stops reading after the first line
  child.stdin.end(stdin);
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  );
}

test('user add --role admin: the account exists with that role and signs in with the stdin password', async () => {
  const res = await run(
    ['user', 'add', '--email', 'Root@Example.com', '--role', 'admin', '--name', 'Root'],
    'tractor-shed-violet-11\n',
  );
  assert.equal(res.code, 0, res.err);
  assert.equal(JSON.parse(res.out).email, 'root@example.com');
  const [row] = await db.sql`
    SELECT u.full_name, u.password_hash, array_agg(r.name) AS roles FROM users u
      JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
     WHERE u.email = 'root@example.com' GROUP BY u.id`;
  assert.deepEqual(row!.roles, ['admin']);
  assert.match(row!.password_hash, /^scrypt\$10\$8\$1\$/);
  assert.doesNotMatch(row!.password_hash, /tractor/);
  const server = createTestApp(db.sql);
  try {
    const admin = apiClient(server.app);
    assert.equal((await admin.signIn('root@example.com', 'tractor-shed-violet-11')).status, 200);
    assert.equal((await admin.request('GET', '/api/v1/users')).status, 200);
  } finally {
    await server.close();
  }
});

test('refuses a weak password, a taken email, a bad role or missing settings — and says why', async () => {
  const weak = await run(['user', 'add', '--email', 'a@example.com', '--role', 'admin'], 'password123\n');
  assert.equal(weak.code, 1);
  assert.match(weak.err, /at least 12 characters|commonly used/);
  const taken = await run(
    ['user', 'add', '--email', 'root@example.com', '--role', 'farmer'],
    'another-good-password-1\n',
  );
  assert.equal(taken.code, 1);
  assert.match(taken.err, /already exists/);
  const role = await run(
    ['user', 'add', '--email', 'b@example.com', '--role', 'owner'],
    'another-good-password-1\n',
  );
  assert.equal(role.code, 2);
  const noDb = await run(['user', 'add', '--email', 'b@example.com', '--role', 'farmer'], 'x\n', {
    DATABASE_URL: '',
  });
  assert.equal(noDb.code, 78);
  assert.match(noDb.err, /DATABASE_URL/);
  const [{ n }] = (await db.sql`SELECT count(*)::int AS n FROM users`) as unknown as [{ n: number }];
  assert.equal(n, 1, 'nothing half-written');
});

test('a password on stdin that is not UTF-8, holds a NUL or has no line end in sight is refused (exit 1)', async () => {
  const args = (email: string) => ['user', 'add', '--email', email, '--role', 'admin'];
  // \xff\xfe would have become U+FFFD U+FFFD: an account whose password nobody can type
  const latin1 = await run(args('c@example.com'), Buffer.from('\xe9t\xe9-good-horse-battery-9\n', 'latin1'));
  assert.equal(latin1.code, 1, latin1.out);
  assert.match(latin1.err, /the password on stdin is not UTF-8 text/);
  const nul = await run(args('d@example.com'), 'good-horse\0battery-9\n');
  assert.equal(nul.code, 1, nul.out);
  assert.match(nul.err, /contains a control character/);
  assert.doesNotMatch(nul.err, /battery/, 'the password is not echoed');
  const endless = await run(args('e@example.com'), 'x'.repeat(1_000_000));
  assert.equal(endless.code, 1, endless.out);
  assert.match(endless.err, /longer than 4096 bytes/);
  const crlf = await run(args('f@example.com'), 'tractor-shed-violet-12\r\nignored\n');
  assert.equal(crlf.code, 0, crlf.err);
  const [{ n }] = (await db.sql`SELECT count(*)::int AS n FROM users`) as unknown as [{ n: number }];
  assert.equal(n, 2, 'only the good one was created');
});
