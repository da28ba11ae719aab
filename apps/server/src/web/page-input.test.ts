import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_BODY_LIMIT_BYTES } from '../app.ts';
import { useTestApp } from '../test-helpers.ts';
import { type DashboardWorld, seedDashboard } from './pages/test-dashboard-seed.ts';
import { pageClient, strip } from './pages/test-page-client.ts';

// What pages accept as input, anonymous forms included. Postgres text cannot hold U+0000: a NUL in a
// page's query parameter or form field used to reach the query and come back as a 500 ("something
// went wrong"). It is a 422 naming the parameter or field, and nothing is written. Form bodies are
// bounded (PAGE_BODY_LIMIT_BYTES): pages used to read any size into memory, for anyone.

let w: DashboardWorld;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      w = await seedDashboard(db.sql);
    },
  },
);
const NUL = '\u0000';

test('anonymous forms: sign-in and registration with a NUL are a 422 page naming the field', async () => {
  const anon = await pageClient(ctx.server.app);
  const signIn = await anon.post('/sign-in', { email: `farmer${NUL}@example.com`, password: 'x' });
  assert.equal(signIn.status, 422);
  assert.match(strip(signIn.html), /The form's “email” field must not contain the NUL character \(U\+0000\)/);
  const register = await anon.post('/register', {
    email: 'nul@example.com',
    full_name: `Nul${NUL}Person`,
    requested_role: 'farmer',
    password: 'meadow-lark-river-9',
  });
  assert.equal(register.status, 422);
  assert.match(strip(register.html), /The form's “full name” field must not contain the NUL/);
  const [n] = await ctx.db
    .sql`SELECT count(*)::int AS n FROM registration_requests WHERE email = 'nul@example.com'`;
  assert.equal(n!.n, 0);
});

test('signed-in forms and page filters with a NUL: 422 naming it, nothing written; JSON for programs', async () => {
  const admin = await pageClient(ctx.server.app, w.users.admin.email);
  const before = await ctx.db.sql`SELECT count(*)::int AS n FROM farms`;
  for (const [path, fields, name] of [
    ['/farms', { name: `Nul${NUL}farm` }, 'name'],
    ['/animals', { farm_id: w.farmA, tag_id: `T${NUL}1` }, 'tag_id'],
    ['/groups', { farm_id: w.farmA, name: `G${NUL}` }, 'name'],
    ['/admin/announcements', { title: `A${NUL}`, body: 'b', format: 'plain' }, 'title'],
    ['/account', { full_name: `Me${NUL}` }, 'full_name'],
  ] as const) {
    const res = await admin.post(path, fields);
    assert.equal(res.status, 422, `${path}: ${strip(res.html).slice(0, 200)}`);
    assert.match(
      strip(res.html),
      new RegExp(`The form's “${name.replaceAll('_', ' ')}” field must not contain the NUL`),
      path,
    );
  }
  assert.deepEqual(await ctx.db.sql`SELECT count(*)::int AS n FROM farms`, before);
  for (const query of ['capture_id=cap%00', 'review_label=%00x']) {
    const res = await admin.get(`/scans?${query}`);
    assert.equal(res.status, 422, query);
    assert.match(strip(res.html), /The address's “[\w ]+” value must not contain the NUL/);
  }
  const json = await ctx.server.app.request('/scans?capture_id=cap%00', {
    headers: { cookie: admin.api.cookie!, accept: 'application/json' },
  });
  assert.equal(json.status, 422);
  const body = (await json.json()) as { error: string; problems: { pointer: string }[] };
  assert.deepEqual([body.error, body.problems[0]!.pointer], ['invalid_request', '/query/capture_id']);
  // The guard read the form; the handler still gets every field.
  const renamed = await admin.post('/account', { full_name: 'Admin Renamed' });
  assert.equal(renamed.status, 303);
  const [me] = await ctx.db.sql`SELECT full_name FROM users WHERE id = ${w.users.admin.id}`;
  assert.equal(me!.full_name, 'Admin Renamed');
});

test('a page form sent as multipart: a broken body is a 400 page, a NUL is a 422 — neither a 500, nothing written', async () => {
  const admin = await pageClient(ctx.server.app, w.users.admin.email);
  const before = await ctx.db.sql`SELECT count(*)::int AS n FROM farms`;
  // Like a browser's, the boundary cannot occur in the values: the CSRF token is random base64url, and
  // undici's parser fails on a value that holds the boundary (a two-letter one did, 1 run in 100).
  const boundary = 'cti.form.boundary';
  const send = (body: string, accept = 'text/html') =>
    ctx.server.app.request('/farms', {
      method: 'POST',
      body,
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        origin: 'http://localhost',
        accept,
        cookie: admin.api.cookie!,
      },
    });
  const part = (name: string, value: string) =>
    `--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const broken = await send(`--${boundary}\r\nbroken`);
  assert.equal(broken.status, 400);
  assert.match(broken.headers.get('content-type') ?? '', /text\/html/);
  assert.match(strip(await broken.text()), /The form could not be read/);
  const json = await send(`--${boundary}\r\nbroken`, 'application/json');
  assert.equal(json.status, 400);
  assert.equal(((await json.json()) as { error: string }).error, 'invalid_form');
  const nul = await send(
    `${part('_csrf', admin.api.csrf!)}${part('name', `Nul${NUL}farm`)}--${boundary}--\r\n`,
  );
  assert.equal(nul.status, 422);
  assert.match(strip(await nul.text()), /The form's “name” field must not contain the NUL/);
  assert.deepEqual(await ctx.db.sql`SELECT count(*)::int AS n FROM farms`, before);
  // A well-formed multipart form is read like an urlencoded one.
  const made = await send(
    `${part('_csrf', admin.api.csrf!)}${part('name', 'Multipart Farm')}--${boundary}--\r\n`,
  );
  assert.equal(made.status, 303);
});

test('form values that are not UTF-8 (urlencoded or multipart) are a 422 naming the field, never stored with U+FFFD', async () => {
  const admin = await pageClient(ctx.server.app, w.users.admin.email);
  const farms = async () => (await ctx.db.sql`SELECT count(*)::int AS n FROM farms`)[0]!.n as number;
  const before = await farms();
  const post = (body: Uint8Array | string, type = 'application/x-www-form-urlencoded') =>
    ctx.server.app.request('/farms', {
      method: 'POST',
      body,
      headers: {
        'content-type': type,
        origin: 'http://localhost',
        accept: 'text/html',
        cookie: admin.api.cookie!,
      },
    });
  const csrf = `_csrf=${encodeURIComponent(admin.api.csrf!)}`;
  for (const body of [
    `${csrf}&name=form%FFfarm`,
    `${csrf}&name=Ferme+B%E9langer`,
    `${csrf}&name=cut%E2%82`,
  ]) {
    const res = await post(body);
    assert.equal(res.status, 422, body);
    assert.match(strip(await res.text()), /The form's “name” field is not UTF-8 text/, body);
  }
  const boundary = 'cti.form.boundary';
  const multipart = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="_csrf"\r\n\r\n${admin.api.csrf}\r\n`),
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="name"\r\n\r\nFerme B`),
    Buffer.from([0xe9]),
    Buffer.from(`langer\r\n--${boundary}--\r\n`),
  ]);
  const mp = await post(new Uint8Array(multipart), `multipart/form-data; boundary=${boundary}`);
  assert.equal(mp.status, 422);
  assert.match(strip(await mp.text()), /The form's “name” field is not UTF-8 text/);
  assert.equal(await farms(), before, 'nothing written');
  // UTF-8, a real U+FFFD included, is fine.
  const ok = await post(`${csrf}&name=Ferme+B%C3%A9langer+%EF%BF%BD`);
  assert.equal(ok.status, 303);
  const [farm] = await ctx.db.sql`SELECT name FROM farms ORDER BY created_at DESC, id LIMIT 1`;
  assert.equal(farm!.name, 'Ferme Bélanger \uFFFD');
});

test('a form body over the limit is a 413 before it is read, with or without Content-Length', async () => {
  const big = `email=a%40example.com&full_name=${'x'.repeat(PAGE_BODY_LIMIT_BYTES)}&requested_role=farmer`;
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    origin: 'http://localhost',
    accept: 'text/html',
  };
  const declared = await ctx.server.app.request('/register', { method: 'POST', headers, body: big });
  assert.equal(declared.status, 413);
  assert.match(strip(await declared.text()), /larger than 2097152 bytes/);
  let sent = 0;
  const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent > 8 * PAGE_BODY_LIMIT_BYTES) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const chunked = await ctx.server.app.request('/sign-in', {
    method: 'POST',
    headers,
    body: stream,
    duplex: 'half',
  } as RequestInit);
  assert.equal(chunked.status, 413);
  assert.ok(sent < 2 * PAGE_BODY_LIMIT_BYTES, `read ${sent} bytes before refusing`);
});

test('the largest geofence allowed, pasted indented at full precision, fits the limit', async () => {
  const admin = await pageClient(ctx.server.app, w.users.admin.email);
  const ring: number[][] = [];
  for (let i = 0; i < 9_999; i++) {
    const a = (2 * Math.PI * i) / 9_999;
    ring.push([-79.38 + 0.01 * Math.cos(a) + 1e-13, 43.65 + 0.01 * Math.sin(a) + 1e-13]);
  }
  ring.push(ring[0]!);
  const geofence = JSON.stringify({ type: 'Polygon', coordinates: [ring] }, null, 2);
  const res = await admin.post('/farms', { name: 'Round farm', geofence });
  assert.equal(res.status, 303, strip(res.html).slice(0, 300));
});

test('a file part where a page form expects text is a 422 naming the field; nothing is cleared (r18 F5)', async () => {
  const admin = await pageClient(ctx.server.app, w.users.admin.email);
  await ctx.db.sql`UPDATE devices SET label = 'keep me' WHERE id = ${w.deviceA}`;
  const form = new FormData();
  form.append('_csrf', admin.api.csrf!);
  form.append('farm_id', w.farmA);
  form.append('label', new File(['x'], 'label.txt', { type: 'text/plain' }));
  const res = await ctx.server.app.request(`/fleet/${w.deviceA}`, {
    method: 'POST',
    body: form,
    headers: { origin: 'http://localhost', accept: 'text/html', cookie: admin.api.cookie! },
  });
  assert.equal(res.status, 422);
  assert.match(strip(await res.text()), /The form's “label” field is a file where text is expected/);
  const [device] = await ctx.db.sql`SELECT label FROM devices WHERE id = ${w.deviceA}`;
  assert.equal(device!.label, 'keep me');
});

test('a page POST that is not a form (JSON, text, no body) is a 415 naming the form types, not a "stale form" (r18 F6)', async () => {
  const admin = await pageClient(ctx.server.app, w.users.admin.email);
  for (const [type, body] of [
    ['application/json', JSON.stringify({ _csrf: admin.api.csrf, label: 'json' })],
    ['text/plain', `_csrf=${admin.api.csrf}&label=text`],
    [undefined, undefined],
  ] as const) {
    const res = await ctx.server.app.request(`/fleet/${w.deviceA}`, {
      method: 'POST',
      ...(body === undefined ? {} : { body }),
      headers: {
        ...(type ? { 'content-type': type } : {}),
        origin: 'http://localhost',
        accept: 'text/html',
        cookie: admin.api.cookie!,
      },
    });
    assert.equal(res.status, 415, String(type));
    const text = strip(await res.text());
    assert.match(text, /application\/x-www-form-urlencoded or multipart\/form-data/, String(type));
    assert.doesNotMatch(text, /stale/);
  }
});
