import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { hashPassword } from '../auth/password-hash.ts';
import { type ApiAnswer, type ApiClient, apiClient } from '../test-api-client.ts';
import { testConfig, useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';

// docs/access-matrix.md is the specification: every route the app serves must have a row, and every
// row is sent as each role on its own farm and on another farm, expecting the written status. Each
// answer of /api/v1 is also checked against the OpenAPI document (test-api-client).

const MATRIX = new URL('../../../../docs/access-matrix.md', import.meta.url);
type Role = 'anonymous' | 'farmer' | 'technician' | 'admin';
type Scope = 'own' | 'other';
type Column = { role: Role; scope: Scope };
const COLUMNS: Column[] = [
  { role: 'anonymous', scope: 'own' },
  { role: 'farmer', scope: 'own' },
  { role: 'farmer', scope: 'other' },
  { role: 'technician', scope: 'own' },
  { role: 'technician', scope: 'other' },
  { role: 'admin', scope: 'own' },
  { role: 'admin', scope: 'other' },
];

function readMatrix(): { key: string; expected: number[] }[] {
  const rows = readFileSync(MATRIX, 'utf8')
    .split('\n')
    .filter((l) => /^\| (GET|POST|PATCH|PUT|DELETE) \|/.test(l));
  return rows.map((line) => {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    assert.equal(cells.length, 2 + COLUMNS.length, `row has ${COLUMNS.length} status columns: ${line}`);
    return { key: `${cells[0]} ${cells[1]}`, expected: cells.slice(2).map(Number) };
  });
}

const f: Record<string, string> = {};
let freshCount = 0;
const ctx = useTestApp(
  {
    api: {
      ...testConfig().api,
      s3: { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true },
    },
  },
  {
    async seed({ db }) {
      process.env.AWS_ACCESS_KEY_ID ??= 'matrix';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'matrix';
      const sql = db.sql;
      f.A = await seedFarm(sql, 'Own farm');
      f.B = await seedFarm(sql, 'Other farm', { lon: -80, lat: 42 });
      f.deviceA = await seedDevice(sql, 'dev-a', f.A);
      f.deviceB = await seedDevice(sql, 'dev-b', f.B);
      const image = (farm: string) => ({
        bucket: 'b',
        key: `raw/${farm}/image.png`,
        sha256: 'a'.repeat(64),
        size: 3,
      });
      f.scanA = await seedScan(sql, { farmId: f.A, deviceId: f.deviceA, image: image('a') });
      f.scanB = await seedScan(sql, { farmId: f.B, deviceId: f.deviceB, image: image('b') });
      for (const x of ['A', 'B']) {
        const [asset] = await sql`SELECT image_asset_id AS id FROM scans WHERE id = ${f[`scan${x}`]!}`;
        f[`asset${x}`] = asset!.id;
      }
      f.farmer = (
        await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: f.A, owner: true }] })
      ).id;
      f.technician = (
        await seedUser(sql, 'technician@example.com', ['technician'], { farms: [{ id: f.A }] })
      ).id;
      f.admin = (await seedUser(sql, 'admin@example.com', ['admin'])).id;
      f.stranger = (
        await seedUser(sql, 'stranger@example.com', ['farmer'], { farms: [{ id: f.B, owner: true }] })
      ).id;
    },
  },
);
const sql = () => ctx.db.sql;
const farmOf = (scope: Scope) => (scope === 'own' ? f.A! : f.B!);
const X = (scope: Scope) => (scope === 'own' ? 'A' : 'B');

async function freshUser(role: Role) {
  const n = ++freshCount;
  const farms = role === 'farmer' ? [{ id: f.A!, owner: true }] : role === 'technician' ? [{ id: f.A! }] : [];
  return seedUser(sql(), `${role}-${n}@example.com`, [role as 'farmer'], { farms });
}
const freshAnimal = async (farm: string) =>
  (
    await sql()`INSERT INTO animals (farm_id, tag_id) VALUES (${farm}, ${`T-${++freshCount}`}) RETURNING id`
  )[0]!.id as string;
const freshGroup = async (farm: string) =>
  (
    await sql()`INSERT INTO contemporary_groups (farm_id, name) VALUES (${farm}, ${`G-${++freshCount}`}) RETURNING id`
  )[0]!.id as string;
const freshMember = async (farm: string, role: 'farmer' | 'technician') =>
  (await seedUser(sql(), `member-${++freshCount}@example.com`, [role], { farms: [{ id: farm }] })).id;

type Req = {
  method: string;
  path: string;
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  check?: (res: ApiAnswer) => void;
};
type Cell = Column & { actorId: string; actorEmail: string; client: ApiClient };
/** `fresh`: the request changes the session or password, so each cell gets its own new user. */
type Spec = { fresh?: boolean; build: (cell: Cell) => Promise<Req> | Req };

const get = (path: string, check?: Req['check']): Spec => ({ build: () => ({ method: 'GET', path, check }) });
const emptyForOther = (cell: Cell) => (res: ApiAnswer) => {
  if (res.status === 200 && cell.scope === 'other' && cell.role !== 'admin')
    assert.deepEqual(res.body.items, []);
};

const SPECS: Record<string, Spec> = {
  'GET /healthz': get('/healthz'),
  'GET /readyz': get('/readyz'),
  'GET /metrics': get('/metrics'),
  'POST /ingest/webhook': { build: () => ({ method: 'POST', path: '/ingest/webhook', body: {} }) },
  'POST /devices/heartbeat': { build: () => ({ method: 'POST', path: '/devices/heartbeat', body: {} }) },
  'GET /api/openapi.json': get('/api/openapi.json'),
  'GET /static/*': get('/static/app.css'),
  'GET /sign-in': get('/sign-in'),
  'POST /sign-in': {
    fresh: true,
    build: (c) => ({
      method: 'POST',
      path: '/sign-in',
      form: { email: c.role === 'anonymous' ? 'farmer@example.com' : c.actorEmail, password: TEST_PASSWORD },
    }),
  },
  'POST /sign-out': {
    fresh: true,
    build: (c) => ({ method: 'POST', path: '/sign-out', form: { _csrf: c.client.csrf ?? '' } }),
  },
  'GET /register': get('/register'),
  'POST /register': {
    build: () => ({
      method: 'POST',
      path: '/register',
      form: {
        email: `r${++freshCount}@example.com`,
        full_name: 'New Person',
        requested_role: 'farmer',
        password: 'meadow-lark-river-9',
      },
    }),
  },
  'GET /account': get('/account'),
  'POST /account': {
    build: (c) => ({
      method: 'POST',
      path: '/account',
      form: { _csrf: c.client.csrf ?? '', full_name: 'Renamed' },
    }),
  },
  'POST /account/password': {
    fresh: true,
    build: (c) => ({
      method: 'POST',
      path: '/account/password',
      form: {
        _csrf: c.client.csrf ?? '',
        current_password: TEST_PASSWORD,
        new_password: 'barley-field-north-7',
      },
    }),
  },
  'POST /api/v1/session': {
    fresh: true,
    build: (c) => ({
      method: 'POST',
      path: '/api/v1/session',
      body: { email: c.role === 'anonymous' ? 'farmer@example.com' : c.actorEmail, password: TEST_PASSWORD },
    }),
  },
  'GET /api/v1/session': get('/api/v1/session'),
  'DELETE /api/v1/session': { fresh: true, build: () => ({ method: 'DELETE', path: '/api/v1/session' }) },
  'GET /api/v1/me': get('/api/v1/me'),
  'PATCH /api/v1/me': {
    build: () => ({ method: 'PATCH', path: '/api/v1/me', body: { full_name: 'Me Myself' } }),
  },
  'POST /api/v1/me/password': {
    fresh: true,
    build: () => ({
      method: 'POST',
      path: '/api/v1/me/password',
      body: { current_password: TEST_PASSWORD, new_password: 'barley-field-north-7' },
    }),
  },
  'GET /api/v1/scans': {
    build: (c) => ({
      method: 'GET',
      path: `/api/v1/scans?farm_id=${farmOf(c.scope)}`,
      check: emptyForOther(c),
    }),
  },
  'GET /api/v1/scans/counts': {
    build: (c) => ({
      method: 'GET',
      path: `/api/v1/scans/counts?farm_id=${farmOf(c.scope)}`,
      check: (res) => {
        if (res.status === 200)
          assert.equal(res.body.total, c.scope === 'other' && c.role !== 'admin' ? 0 : 1);
      },
    }),
  },
  'GET /api/v1/scans/{id}': {
    build: (c) => ({ method: 'GET', path: `/api/v1/scans/${f[`scan${X(c.scope)}`]}` }),
  },
  'PATCH /api/v1/scans/{id}': {
    build: (c) => ({
      method: 'PATCH',
      path: `/api/v1/scans/${f[`scan${X(c.scope)}`]}`,
      body: { review_label: 'ok' },
    }),
  },
  'GET /api/v1/assets/{id}': {
    build: (c) => ({ method: 'GET', path: `/api/v1/assets/${f[`asset${X(c.scope)}`]}` }),
  },
  'GET /api/v1/assets/{id}/content': {
    build: (c) => ({ method: 'GET', path: `/api/v1/assets/${f[`asset${X(c.scope)}`]}/content` }),
  },
  'GET /api/v1/devices': {
    build: (c) => ({
      method: 'GET',
      path: '/api/v1/devices',
      check: (res) => {
        if (res.status !== 200) return;
        const codes = res.body.items.map((d: { device_code: string }) => d.device_code);
        assert.equal(codes.includes('dev-b'), c.role === 'admin', 'another farm’s device');
        assert.ok(codes.includes('dev-a'));
      },
    }),
  },
  'GET /api/v1/devices/{id}': {
    build: (c) => ({ method: 'GET', path: `/api/v1/devices/${f[`device${X(c.scope)}`]}` }),
  },
  'PATCH /api/v1/devices/{id}': {
    build: (c) => ({
      method: 'PATCH',
      path: `/api/v1/devices/${f[`device${X(c.scope)}`]}`,
      body: { label: 'Barn Pi' },
    }),
  },
  'GET /api/v1/farms': {
    build: (c) => ({
      method: 'GET',
      path: '/api/v1/farms',
      check: (res) => {
        if (res.status === 200)
          assert.equal(
            res.body.items.some((x: { id: string }) => x.id === f.B),
            c.role === 'admin',
          );
      },
    }),
  },
  'POST /api/v1/farms': {
    build: () => ({ method: 'POST', path: '/api/v1/farms', body: { name: `Farm ${++freshCount}` } }),
  },
  'GET /api/v1/farms/{id}': { build: (c) => ({ method: 'GET', path: `/api/v1/farms/${farmOf(c.scope)}` }) },
  'PATCH /api/v1/farms/{id}': {
    build: (c) => ({
      method: 'PATCH',
      path: `/api/v1/farms/${farmOf(c.scope)}`,
      body: { name: c.scope === 'own' ? 'Own farm' : 'Other farm' },
    }),
  },
  'DELETE /api/v1/farms/{id}': {
    build: async (c) => {
      const farm = await seedFarm(sql(), `Doomed ${++freshCount}`);
      if (c.scope === 'own' && c.role !== 'anonymous')
        await sql()`INSERT INTO user_farms (user_id, farm_id, is_owner) VALUES (${c.actorId}, ${farm}, ${c.role === 'farmer'})`;
      return { method: 'DELETE', path: `/api/v1/farms/${farm}` };
    },
  },
  'GET /api/v1/farms/{id}/members': {
    build: (c) => ({ method: 'GET', path: `/api/v1/farms/${farmOf(c.scope)}/members` }),
  },
  'POST /api/v1/farms/{id}/members': {
    build: async (c) => {
      const tech = await seedUser(sql(), `new-tech-${++freshCount}@example.com`, ['technician']);
      return {
        method: 'POST',
        path: `/api/v1/farms/${farmOf(c.scope)}/members`,
        body: { email: tech.email },
      };
    },
  },
  'PATCH /api/v1/farms/{id}/members/{userId}': {
    build: async (c) => ({
      method: 'PATCH',
      path: `/api/v1/farms/${farmOf(c.scope)}/members/${await freshMember(farmOf(c.scope), 'farmer')}`,
      body: { is_owner: true },
    }),
  },
  'DELETE /api/v1/farms/{id}/members/{userId}': {
    build: async (c) => ({
      method: 'DELETE',
      path: `/api/v1/farms/${farmOf(c.scope)}/members/${await freshMember(farmOf(c.scope), 'technician')}`,
    }),
  },
  'GET /api/v1/animals': {
    build: (c) => ({
      method: 'GET',
      path: `/api/v1/animals?farm_id=${farmOf(c.scope)}`,
      check: emptyForOther(c),
    }),
  },
  'POST /api/v1/animals': {
    build: (c) => ({
      method: 'POST',
      path: '/api/v1/animals',
      body: { farm_id: farmOf(c.scope), tag_id: `N-${++freshCount}` },
    }),
  },
  'GET /api/v1/animals/{id}': {
    build: async (c) => ({ method: 'GET', path: `/api/v1/animals/${await freshAnimal(farmOf(c.scope))}` }),
  },
  'PATCH /api/v1/animals/{id}': {
    build: async (c) => ({
      method: 'PATCH',
      path: `/api/v1/animals/${await freshAnimal(farmOf(c.scope))}`,
      body: { breed: 'Angus' },
    }),
  },
  'DELETE /api/v1/animals/{id}': {
    build: async (c) => ({ method: 'DELETE', path: `/api/v1/animals/${await freshAnimal(farmOf(c.scope))}` }),
  },
  'GET /api/v1/groups': {
    build: async (c) => {
      await freshGroup(farmOf(c.scope));
      return { method: 'GET', path: `/api/v1/groups?farm_id=${farmOf(c.scope)}`, check: emptyForOther(c) };
    },
  },
  'POST /api/v1/groups': {
    build: (c) => ({
      method: 'POST',
      path: '/api/v1/groups',
      body: { farm_id: farmOf(c.scope), name: `Group ${++freshCount}` },
    }),
  },
  'GET /api/v1/groups/{id}': {
    build: async (c) => ({ method: 'GET', path: `/api/v1/groups/${await freshGroup(farmOf(c.scope))}` }),
  },
  'PATCH /api/v1/groups/{id}': {
    build: async (c) => ({
      method: 'PATCH',
      path: `/api/v1/groups/${await freshGroup(farmOf(c.scope))}`,
      body: { name: `Renamed ${++freshCount}` },
    }),
  },
  'DELETE /api/v1/groups/{id}': {
    build: async (c) => ({ method: 'DELETE', path: `/api/v1/groups/${await freshGroup(farmOf(c.scope))}` }),
  },
  'PUT /api/v1/groups/{id}/animals/{animalId}': {
    build: async (c) => ({
      method: 'PUT',
      path: `/api/v1/groups/${await freshGroup(farmOf(c.scope))}/animals/${await freshAnimal(farmOf(c.scope))}`,
    }),
  },
  'DELETE /api/v1/groups/{id}/animals/{animalId}': {
    build: async (c) => {
      const group = await freshGroup(farmOf(c.scope));
      const animal = await freshAnimal(farmOf(c.scope));
      await sql()`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${group}, ${animal})`;
      return { method: 'DELETE', path: `/api/v1/groups/${group}/animals/${animal}` };
    },
  },
  'GET /api/v1/users': get('/api/v1/users'),
  'POST /api/v1/users': {
    build: () => ({
      method: 'POST',
      path: '/api/v1/users',
      body: {
        email: `made-${++freshCount}@example.com`,
        full_name: 'Made',
        roles: ['farmer'],
        password: 'silo-tower-maple-5',
      },
    }),
  },
  'GET /api/v1/users/{id}': { build: () => ({ method: 'GET', path: `/api/v1/users/${f.stranger}` }) },
  'PATCH /api/v1/users/{id}': {
    build: async () => ({
      method: 'PATCH',
      path: `/api/v1/users/${(await freshUser('farmer')).id}`,
      body: { full_name: 'Changed' },
    }),
  },
  'POST /api/v1/users/{id}/password': {
    build: async () => ({
      method: 'POST',
      path: `/api/v1/users/${(await freshUser('farmer')).id}/password`,
      body: { password: 'clover-hill-east-3' },
    }),
  },
  'POST /api/v1/registrations': {
    build: () => ({
      method: 'POST',
      path: '/api/v1/registrations',
      body: {
        email: `reg-${++freshCount}@example.com`,
        full_name: 'Asker',
        requested_role: 'technician',
        password: 'meadow-lark-river-9',
      },
    }),
  },
  'GET /api/v1/registrations': get('/api/v1/registrations'),
  'POST /api/v1/registrations/{id}/approve': {
    build: async () => ({
      method: 'POST',
      path: `/api/v1/registrations/${await freshRegistration()}/approve`,
      body: {},
    }),
  },
  'POST /api/v1/registrations/{id}/reject': {
    build: async () => ({
      method: 'POST',
      path: `/api/v1/registrations/${await freshRegistration()}/reject`,
      body: { reason: 'unknown farm' },
    }),
  },
  'GET /api/v1/announcements': get('/api/v1/announcements'),
  'POST /api/v1/announcements': {
    build: () => ({ method: 'POST', path: '/api/v1/announcements', body: { title: 'Hello', body: 'World' } }),
  },
  'PATCH /api/v1/announcements/{id}': {
    build: async () => ({
      method: 'PATCH',
      path: `/api/v1/announcements/${await freshAnnouncement()}`,
      body: { title: 'Edited' },
    }),
  },
  'DELETE /api/v1/announcements/{id}': {
    build: async () => ({ method: 'DELETE', path: `/api/v1/announcements/${await freshAnnouncement()}` }),
  },
  'GET /api/v1/notifications': get('/api/v1/notifications'),
  'GET /api/v1/notifications/unread-count': get('/api/v1/notifications/unread-count'),
  'POST /api/v1/notifications/{id}/read': {
    build: async (c) => {
      const owner = c.scope === 'own' && c.role !== 'anonymous' ? c.actorId : f.stranger!;
      const [n] =
        await sql()`INSERT INTO notifications (user_id, type, payload) VALUES (${owner}, 'scan_graded', '{}') RETURNING id`;
      return { method: 'POST', path: `/api/v1/notifications/${n!.id}/read` };
    },
  },
  'POST /api/v1/notifications/read-all': {
    build: () => ({ method: 'POST', path: '/api/v1/notifications/read-all' }),
  },
};

async function freshRegistration() {
  const hash = await hashPassword('meadow-lark-river-9', { log2N: 10, r: 8, p: 1 });
  const [r] = await sql()`
    INSERT INTO registration_requests (email, full_name, password_hash, requested_role)
    VALUES (${`pending-${++freshCount}@example.com`}, 'Pending Person', ${hash}, 'farmer') RETURNING id`;
  return r!.id as string;
}
async function freshAnnouncement() {
  const [a] = await sql()`INSERT INTO announcements (title, body) VALUES ('Old', 'news') RETURNING id`;
  return a!.id as string;
}

const clients = new Map<Role, { client: ApiClient; id: string; email: string }>();
async function actor(role: Role, fresh: boolean) {
  if (role === 'anonymous') return { client: apiClient(ctx.server.app), id: '', email: '' };
  const cached = clients.get(role);
  if (cached && !fresh) return cached;
  const user = fresh ? await freshUser(role) : { id: f[role]!, email: `${role}@example.com` };
  const client = apiClient(ctx.server.app);
  assert.equal((await client.signIn(user.email, TEST_PASSWORD)).status, 200, `sign in as ${user.email}`);
  const entry = { client, id: user.id, email: user.email };
  if (!fresh) clients.set(role, entry);
  return entry;
}

async function send(client: ApiClient, req: Req): Promise<ApiAnswer> {
  if (req.form) {
    return client.request(req.method, req.path, {
      body: new URLSearchParams(req.form).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'http://localhost',
        ...req.headers,
      },
      csrf: false,
    });
  }
  return client.request(req.method, req.path, { body: req.body, headers: req.headers });
}

describe('the access matrix (docs/access-matrix.md)', () => {
  test('lists exactly the routes the app serves', () => {
    const served = new Set(
      ctx.server.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(readMatrix().map((r) => r.key));
    assert.deepEqual(
      [...served].filter((k) => !documented.has(k)),
      [],
      'routes without a matrix row',
    );
    assert.deepEqual(
      [...documented].filter((k) => !served.has(k)),
      [],
      'matrix rows without a route',
    );
    assert.deepEqual(
      Object.keys(SPECS).filter((k) => !documented.has(k)),
      [],
      'test requests without a row',
    );
  });

  for (const row of readMatrix()) {
    test(row.key, async () => {
      const spec = SPECS[row.key];
      assert.ok(spec, `no request for ${row.key} in access-matrix.test.ts`);
      for (const [i, column] of COLUMNS.entries()) {
        const who = await actor(column.role, spec.fresh ?? false);
        const cell: Cell = { ...column, actorId: who.id, actorEmail: who.email, client: who.client };
        const req = await spec.build(cell);
        const res = await send(who.client, req);
        assert.equal(
          res.status,
          row.expected[i],
          `${row.key} as ${column.role} (${column.scope}): ${req.method} ${req.path} → ${res.status} ${res.text.slice(0, 300)}`,
        );
        req.check?.(res);
      }
    });
  }
});
