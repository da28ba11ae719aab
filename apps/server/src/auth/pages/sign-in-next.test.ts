import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { createTestApp, listenTestApp, type TestApp, testAuthConfig } from '../../test-helpers.ts';
import { seedUser, TEST_PASSWORD } from '../../test-seed.ts';

// `next` after sign-in, through a real port: Node refuses control characters in a Location header,
// which only shows on a socket (app.request() would not), as a bare 500 with no session cookie.

let db: TestDatabase;
let app: TestApp;
let server: Awaited<ReturnType<typeof listenTestApp>>;

before(async () => {
  db = await createTestDatabase();
  await seedUser(db.sql, 'nell@example.com', ['farmer']);
  app = createTestApp(db.sql, {
    auth: testAuthConfig({ accountFailureLimit: 100, addressFailureLimit: 100 }),
  });
  server = await listenTestApp(app);
});
after(async () => {
  await server?.close();
  await app?.close();
  await db?.drop();
});

const signIn = (next: string) =>
  fetch(`${server.url}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: 'nell@example.com', password: TEST_PASSWORD, next }),
  });

describe('sign-in with next', () => {
  test('a control character (C0, DEL, C1) in next: 303 home with the session cookie, never a 500', async () => {
    for (const next of ['/scans?x=\x01', '/\x1f/evil.com', '/scans\x7f', '/a\u0085b']) {
      const res = await signIn(next);
      assert.equal(res.status, 303, JSON.stringify(next));
      assert.equal(res.headers.get('location'), '/', JSON.stringify(next));
      assert.match(res.headers.get('set-cookie') ?? '', /cti_session|session/i, JSON.stringify(next));
    }
  });

  test('already signed in, GET /sign-in?next=/%01 and %7F: 303 home', async () => {
    const cookie = (await signIn('/')).headers.get('set-cookie')!.split(';')[0]!;
    for (const next of ['%2F%01%2Fevil.com', '%2F%1F', '%2Fscans%7F']) {
      const res = await fetch(`${server.url}/sign-in?next=${next}`, {
        redirect: 'manual',
        headers: { cookie },
      });
      assert.equal(res.status, 303, next);
      assert.equal(res.headers.get('location'), '/', next);
    }
  });

  test('local paths are kept; non-ASCII ones percent-encoded; other origins refused', async () => {
    const cases: [string, string][] = [
      ['/scans?status=graded&grade=A', '/scans?status=graded&grade=A'],
      ['/animals?tag=%C3%A9', '/animals?tag=%C3%A9'],
      ['/animals?tag=é\u200b', '/animals?tag=%C3%A9%E2%80%8B'],
      ['//evil.example', '/'],
      ['/\\evil.example', '/'],
      ['https://evil.example/', '/'],
      ['/with space', '/'],
    ];
    for (const [next, location] of cases) {
      const res = await signIn(next);
      assert.equal(res.status, 303, next);
      assert.equal(res.headers.get('location'), location, next);
    }
  });
});
