import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { startS3rver } from '@cti/testkit';
import { hashPassword } from '../auth/password-hash.ts';
import { editorPng, phantomScan, seedCorrectableScan } from '../corrections/test-correction-world.ts';
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
    .filter((l) => /^\| (GET|POST|PATCH|PUT|DELETE) +\|/.test(l));
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
// Corrections read the scan image from S3 and write masks there: a real store (s3rver) for the file.
process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
const store = await startS3rver({ buckets: ['matrix'] });
after(() => store.close());
const frame = await phantomScan();
const correctionMask = await editorPng(frame.truth);
const ctx = useTestApp(
  {
    api: {
      ...testConfig().api,
      s3: { endpoint: store.endpoint, region: 'us-east-1', forcePathStyle: true },
    },
  },
  {
    async seed({ db }) {
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
        const device = f[`device${x}`]!;
        f[`correctable${x}`] = (
          await seedCorrectableScan(sql, store.client, {
            bucket: 'matrix',
            farmId: x === 'A' ? f.A! : f.B!,
            deviceId: device,
            frame,
            captureId: `cap_correctable_${x.toLowerCase()}`,
          })
        ).scanId;
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
/** The farm's two scans: one without a grading result, one graded that can be corrected. */
const scansOf = (scope: Scope) => [f[`scan${X(scope)}`]!, f[`correctable${X(scope)}`]!].sort();

async function freshUser(role: Role) {
  const n = ++freshCount;
  const farms = role === 'farmer' ? [{ id: f.A!, owner: true }] : role === 'technician' ? [{ id: f.A! }] : [];
  return seedUser(sql(), `${role}-${n}@example.com`, [role as 'farmer'], { farms });
}
/** A device of the scope's farm of its own (retiring dev-a or dev-b would change the other rows); `retired`: already retired. */
const freshDevice = async (scope: Scope, retired = false) => {
  const id = await seedDevice(sql(), `dev-r${++freshCount}`, farmOf(scope));
  if (retired) await sql()`UPDATE devices SET retired_at = now(), retired_by = 'matrix' WHERE id = ${id}`;
  return id;
};
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
  /** An event stream: only the status is read, then the stream is cancelled. */
  stream?: boolean;
  check?: (res: ApiAnswer) => void;
};
type Cell = Column & { actorId: string; actorEmail: string; client: ApiClient };
/** `fresh`: the request changes the session or password, so each cell gets its own new user. */
type Spec = { fresh?: boolean; build: (cell: Cell) => Promise<Req> | Req };

const get = (path: string, check?: Req['check']): Spec => ({ build: () => ({ method: 'GET', path, check }) });
/** A page form POST carrying the session's `_csrf` (as the page's form would). */
const form =
  (path: string, fields: Record<string, string> = {}) =>
  (c: Cell): Req => ({
    method: 'POST',
    path,
    form: { _csrf: c.client.csrf ?? '', ...fields },
  });
const noRowsForOther = (cell: Cell) => (res: ApiAnswer) => {
  if (res.status === 200 && cell.scope === 'other' && cell.role !== 'admin')
    assert.ok(!res.text.includes('data-scan-id='), 'no scan rows of another farm');
};
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
  'POST /account/notifications': {
    build: (c) => form('/account/notifications', { shown: 'scan_rejected', enabled: 'scan_rejected' })(c),
  },
  // Pages (src/web/pages): the same queries; forms carry `_csrf`.
  'GET /': get('/'),
  'GET /scans': {
    build: (c) => ({ method: 'GET', path: `/scans?farm_id=${farmOf(c.scope)}`, check: noRowsForOther(c) }),
  },
  'GET /scans/events': {
    build: (c) => ({ method: 'GET', path: `/scans/events?farm_id=${farmOf(c.scope)}`, stream: true }),
  },
  'GET /scans/{id}': { build: (c) => ({ method: 'GET', path: `/scans/${f[`scan${X(c.scope)}`]}` }) },
  'POST /scans/{id}/review': {
    build: (c) =>
      form(`/scans/${f[`scan${X(c.scope)}`]}/review`, { review_label: 'ok', review_clarity: '3' })(c),
  },
  // The scan's farm kept (the other rows read these scans on their farms), a fresh animal of it linked
  // by its ear tag, typed as the form's Animal field.
  'POST /scans/{id}/assignment': {
    build: async (c) => {
      const animal = await freshAnimal(farmOf(c.scope));
      const [row] = await sql()<{ tag_id: string }[]>`SELECT tag_id FROM animals WHERE id = ${animal}`;
      return form(`/scans/${f[`scan${X(c.scope)}`]}/assignment`, {
        farm_was: farmOf(c.scope),
        animal_shown: '',
        animal: row!.tag_id,
      })(c);
    },
  },
  'GET /animals': {
    build: (c) => ({ method: 'GET', path: `/animals?farm_id=${farmOf(c.scope)}` }),
  },
  'POST /animals': {
    build: (c) => form('/animals', { farm_id: farmOf(c.scope), tag_id: `P-${++freshCount}` })(c),
  },
  'GET /animals/{id}': {
    build: async (c) => ({ method: 'GET', path: `/animals/${await freshAnimal(farmOf(c.scope))}` }),
  },
  'POST /animals/{id}': {
    build: async (c) =>
      form(`/animals/${await freshAnimal(farmOf(c.scope))}`, {
        farm_id: farmOf(c.scope),
        tag_id: `E-${++freshCount}`,
        breed: 'Angus',
      })(c),
  },
  'GET /farms': get('/farms'),
  'POST /farms': { build: (c) => form('/farms', { name: `Page farm ${++freshCount}`, geofence: '' })(c) },
  'GET /farms/{id}': { build: (c) => ({ method: 'GET', path: `/farms/${farmOf(c.scope)}` }) },
  'POST /farms/{id}': {
    build: async (c) => {
      const geofence = JSON.stringify({
        type: 'Polygon',
        coordinates: [
          [
            [-79.39, 43.64],
            [-79.37, 43.64],
            [-79.37, 43.66],
            [-79.39, 43.64],
          ],
        ],
      });
      return form(`/farms/${farmOf(c.scope)}`, {
        name: c.scope === 'own' ? 'Own farm' : 'Other farm',
        geofence,
      })(c);
    },
  },
  'POST /farms/{id}/delete': {
    build: async (c) => {
      const farm = await seedFarm(sql(), `Doomed page ${++freshCount}`);
      if (c.scope === 'own' && c.role !== 'anonymous')
        await sql()`INSERT INTO user_farms (user_id, farm_id, role, is_owner) VALUES (${c.actorId}, ${farm}, ${c.role === 'technician' ? 'technician' : 'farmer'}, ${c.role === 'farmer'})`;
      return form(`/farms/${farm}/delete`)(c);
    },
  },
  'POST /farms/{id}/members': {
    build: async (c) => {
      const tech = await seedUser(sql(), `page-tech-${++freshCount}@example.com`, ['technician']);
      return form(`/farms/${farmOf(c.scope)}/members`, { email: tech.email })(c);
    },
  },
  'POST /farms/{id}/members/{userId}/remove': {
    build: async (c) =>
      form(`/farms/${farmOf(c.scope)}/members/${await freshMember(farmOf(c.scope), 'technician')}/remove`, {
        linked_as: 'technician',
      })(c),
  },
  'GET /fleet': get('/fleet'),
  'GET /fleet/{id}': {
    build: (c) => ({ method: 'GET', path: `/fleet/${f[`device${X(c.scope)}`]}` }),
  },
  // The device's own farm kept: other rows see devices through it.
  'POST /fleet/{id}': {
    build: (c) =>
      form(`/fleet/${f[`device${X(c.scope)}`]}`, { label: 'Barn Pi', farm_id: farmOf(c.scope) })(c),
  },
  'POST /fleet/{id}/calibration': {
    build: (c) => form(`/fleet/${f[`device${X(c.scope)}`]}/calibration`, { pixel_spacing_mm: '0.3' })(c),
  },
  'POST /fleet/{id}/calibration/clear': {
    build: (c) => form(`/fleet/${f[`device${X(c.scope)}`]}/calibration/clear`)(c),
  },
  'POST /fleet/{id}/retire': {
    build: async (c) => form(`/fleet/${await freshDevice(c.scope)}/retire`, { reason: 'replaced' })(c),
  },
  'POST /fleet/{id}/unretire': {
    build: async (c) => form(`/fleet/${await freshDevice(c.scope, true)}/unretire`)(c),
  },
  'GET /groups': {
    build: async (c) => {
      await freshGroup(farmOf(c.scope));
      return { method: 'GET', path: `/groups?farm_id=${farmOf(c.scope)}` };
    },
  },
  'POST /groups': {
    build: (c) => form('/groups', { farm_id: farmOf(c.scope), name: `Page group ${++freshCount}` })(c),
  },
  'GET /groups/{id}': {
    build: async (c) => ({ method: 'GET', path: `/groups/${await freshGroup(farmOf(c.scope))}` }),
  },
  'POST /groups/{id}': {
    build: async (c) =>
      form(`/groups/${await freshGroup(farmOf(c.scope))}`, { name: `Renamed page ${++freshCount}` })(c),
  },
  'POST /groups/{id}/delete': {
    build: async (c) => form(`/groups/${await freshGroup(farmOf(c.scope))}/delete`)(c),
  },
  'POST /groups/{id}/animals': {
    build: async (c) =>
      form(`/groups/${await freshGroup(farmOf(c.scope))}/animals`, {
        animal_id: await freshAnimal(farmOf(c.scope)),
      })(c),
  },
  'POST /groups/{id}/animals/{animalId}/remove': {
    build: async (c) => {
      const group = await freshGroup(farmOf(c.scope));
      const animal = await freshAnimal(farmOf(c.scope));
      await sql()`INSERT INTO contemporary_group_animals (group_id, animal_id) VALUES (${group}, ${animal})`;
      return form(`/groups/${group}/animals/${animal}/remove`)(c);
    },
  },
  'GET /notifications': get('/notifications'),
  'POST /notifications/{id}/read': {
    build: async (c) => {
      const owner = c.scope === 'own' && c.role !== 'anonymous' ? c.actorId : f.stranger!;
      const [n] =
        await sql()`INSERT INTO notifications (user_id, type, payload) VALUES (${owner}, 'scan_graded', '{}') RETURNING id`;
      return form(`/notifications/${n!.id}/read`)(c);
    },
  },
  'POST /notifications/read-all': { build: (c) => form('/notifications/read-all')(c) },
  'GET /admin/users': get('/admin/users'),
  'POST /admin/users': {
    build: (c) =>
      form('/admin/users', {
        email: `page-made-${++freshCount}@example.com`,
        full_name: 'Made on a page',
        roles: 'farmer',
        password: 'silo-tower-maple-5',
      })(c),
  },
  'GET /admin/users/{id}': { build: () => ({ method: 'GET', path: `/admin/users/${f.stranger}` }) },
  'POST /admin/users/{id}': {
    build: async (c) =>
      form(`/admin/users/${(await freshUser('farmer')).id}`, {
        full_name: 'Changed on a page',
        roles: 'farmer',
        status: 'active',
      })(c),
  },
  'POST /admin/users/{id}/password': {
    build: async (c) =>
      form(`/admin/users/${(await freshUser('farmer')).id}/password`, { password: 'clover-hill-east-3' })(c),
  },
  'POST /admin/users/{id}/farms': {
    build: async (c) => {
      const user = await seedUser(sql(), `page-unlinked-${++freshCount}@example.com`, ['farmer']);
      return form(`/admin/users/${user.id}/farms`, { farm_id: f.A! })(c);
    },
  },
  'POST /admin/users/{id}/farms/{farmId}/remove': {
    build: async (c) =>
      form(`/admin/users/${await freshMember(f.A!, 'technician')}/farms/${f.A}/remove`, {
        linked_as: 'technician',
      })(c),
  },
  'GET /admin/registrations': get('/admin/registrations'),
  'POST /admin/registrations/{id}/approve': {
    build: async (c) =>
      form(`/admin/registrations/${await freshRegistration()}/approve`, { role: 'farmer' })(c),
  },
  'POST /admin/registrations/{id}/reject': {
    build: async (c) =>
      form(`/admin/registrations/${await freshRegistration()}/reject`, { reason: 'unknown farm' })(c),
  },
  'GET /admin/announcements': get('/admin/announcements'),
  'POST /admin/announcements': {
    build: (c) => form('/admin/announcements', { title: 'Hello', body: 'World', format: 'plain' })(c),
  },
  'POST /admin/announcements/{id}/expire': {
    build: async (c) => form(`/admin/announcements/${await freshAnnouncement()}/expire`)(c),
  },
  'POST /admin/announcements/{id}/delete': {
    build: async (c) => form(`/admin/announcements/${await freshAnnouncement()}/delete`)(c),
  },
  'GET /reports': {
    build: (c) => ({
      method: 'GET',
      path: `/reports?farm_id=${farmOf(c.scope)}`,
      check: (res) => {
        if (res.status === 200) assert.match(res.text, c.scope === 'own' ? /Own farm/ : /Other farm/);
        if (res.status === 303) assert.match(res.headers.get('location') ?? '', /^\/sign-in\?next=/);
      },
    }),
  },
  'GET /reports/farms/{id}/print': {
    build: (c) => ({ method: 'GET', path: `/reports/farms/${farmOf(c.scope)}/print?day=2025-09-09` }),
  },
  'GET /reports/groups/{id}/print': {
    build: async (c) => ({
      method: 'GET',
      path: `/reports/groups/${await freshGroup(farmOf(c.scope))}/print?day=2025-09-09`,
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
  'GET /api/v1/me/notification-settings': get('/api/v1/me/notification-settings'),
  'PUT /api/v1/me/notification-settings': {
    build: () => ({
      method: 'PUT',
      path: '/api/v1/me/notification-settings',
      body: { enabled: { scan_corrected: true } },
      check: (res) => {
        if (res.status === 200) assert.equal(res.body.enabled.scan_corrected, true);
      },
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
          assert.equal(res.body.total, c.scope === 'other' && c.role !== 'admin' ? 0 : 2);
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
  'POST /api/v1/scans/{id}/corrections': {
    build: (c) => {
      const body = new FormData();
      body.append('mask', new Blob([correctionMask], { type: 'image/png' }), 'mask.png');
      body.append('fat_line', '');
      return { method: 'POST', path: `/api/v1/scans/${f[`correctable${X(c.scope)}`]}/corrections`, body };
    },
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
  'GET /api/v1/devices/{id}/health': {
    build: (c) => ({ method: 'GET', path: `/api/v1/devices/${f[`device${X(c.scope)}`]}/health` }),
  },
  'GET /api/v1/devices/{id}/calibrations': {
    build: (c) => ({ method: 'GET', path: `/api/v1/devices/${f[`device${X(c.scope)}`]}/calibrations` }),
  },
  'POST /api/v1/devices/{id}/calibrations': {
    build: (c) => ({
      method: 'POST',
      path: `/api/v1/devices/${f[`device${X(c.scope)}`]}/calibrations`,
      body: { pixel_spacing_mm: 0.3 },
    }),
  },
  'POST /api/v1/devices/{id}/retire': {
    build: async (c) => ({
      method: 'POST',
      path: `/api/v1/devices/${await freshDevice(c.scope)}/retire`,
      body: { reason: 'replaced' },
    }),
  },
  'POST /api/v1/devices/{id}/unretire': {
    build: async (c) => ({
      method: 'POST',
      path: `/api/v1/devices/${await freshDevice(c.scope, true)}/unretire`,
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
        await sql()`INSERT INTO user_farms (user_id, farm_id, role, is_owner) VALUES (${c.actorId}, ${farm}, ${c.role === 'technician' ? 'technician' : 'farmer'}, ${c.role === 'farmer'})`;
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
  'GET /api/v1/reports/farms/{id}': {
    build: (c) => ({
      method: 'GET',
      path: `/api/v1/reports/farms/${farmOf(c.scope)}`,
      check: (res) => {
        if (res.status === 200) assert.equal(res.body.scope.farm.id, farmOf(c.scope));
      },
    }),
  },
  'GET /api/v1/reports/groups/{id}': {
    build: async (c) => ({
      method: 'GET',
      path: `/api/v1/reports/groups/${await freshGroup(farmOf(c.scope))}`,
    }),
  },
  'GET /api/v1/exports/scans.csv': {
    build: (c) => ({
      method: 'GET',
      path: `/api/v1/exports/scans.csv?farm_id=${farmOf(c.scope)}`,
      check: (res) => {
        if (res.status !== 200) return;
        const lines = res.text.trim().split('\r\n');
        assert.deepEqual(
          lines
            .slice(1)
            .map((l: string) => l.split(',')[0])
            .sort(),
          scansOf(c.scope),
          'exactly that farm’s scans',
        );
      },
    }),
  },
  'GET /api/v1/exports/scans.geojson': {
    build: (c) => ({
      method: 'GET',
      path: `/api/v1/exports/scans.geojson?farm_id=${farmOf(c.scope)}`,
      check: (res) => {
        if (res.status === 200)
          assert.deepEqual(res.body.features.map((x: { id: string }) => x.id).sort(), scansOf(c.scope));
      },
    }),
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
  if (req.stream) {
    const res = await ctx.server.app.request(req.path, {
      headers: client.cookie ? { cookie: client.cookie } : {},
    });
    await res.body?.cancel();
    return { status: res.status, body: undefined, headers: res.headers, text: '' };
  }
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

/**
 * Unsafe routes a signed-in browser may call without the session's CSRF token: the machine routes
 * (HMAC-signed, no cookie read) and the ways in of someone signing in or asking for an account (no
 * session to protect yet; forms behind the Origin check, the API JSON-only — auth-api.test.ts).
 */
const CSRF_EXEMPT = new Set([
  'POST /ingest/webhook',
  'POST /devices/heartbeat',
  'POST /sign-in',
  'POST /register',
  'POST /api/v1/session',
  'POST /api/v1/registrations',
]);

describe('CSRF on every state-changing call made with the session cookie', () => {
  const unsafe = readMatrix().filter((r) => !r.key.startsWith('GET ') && !CSRF_EXEMPT.has(r.key));
  test('the matrix has the unsafe routes this walks', () => {
    assert.ok(unsafe.length >= 50, `${unsafe.length} unsafe routes`);
  });
  for (const row of unsafe) {
    test(`${row.key} without the token is refused, 403 csrf_failed`, async () => {
      const spec = SPECS[row.key]!;
      // An admin on their own things: allowed everything, so the token is the only thing missing.
      const who = await actor('admin', spec.fresh ?? false);
      const cell: Cell = {
        role: 'admin',
        scope: 'own',
        actorId: who.id,
        actorEmail: who.email,
        client: who.client,
      };
      const req = await spec.build(cell);
      const res = req.form
        ? await send(who.client, {
            ...req,
            form: Object.fromEntries(Object.entries(req.form).filter(([k]) => k !== '_csrf')),
          })
        : await who.client.request(req.method, req.path, {
            body: req.body,
            headers: req.headers,
            csrf: false,
          });
      assert.equal(res.status, 403, `${req.method} ${req.path} → ${res.status} ${res.text.slice(0, 300)}`);
      assert.match(res.text, /csrf_failed|stale or was not sent by this site/);
      // The session still works: the refusal changed nothing about it.
      assert.equal((await who.client.request('GET', '/api/v1/session')).status, 200);
    });
  }
});

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
