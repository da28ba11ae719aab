import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientsByEmail, problemPointers } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser } from '../test-seed.ts';

// PATCH /api/v1/devices/{id} on a real database (responses checked against the OpenAPI document):
// admins, and technicians for a device of a farm they are technician of or an unassigned one, label a
// device and set its farm; moving it needs rights on both farms; `can_edit` says who may.

const f = {} as Record<'A' | 'B' | 'C' | 'devA' | 'devB' | 'devC', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.A = await seedFarm(db.sql, 'A');
      f.B = await seedFarm(db.sql, 'B');
      f.C = await seedFarm(db.sql, 'C');
      f.devA = await seedDevice(db.sql, 'dev-set-a', f.A);
      f.devB = await seedDevice(db.sql, 'dev-set-b', f.B);
      f.devC = await seedDevice(db.sql, 'dev-set-c', f.C);
      await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: f.A, owner: true }] });
      await seedUser(db.sql, 'tech@example.com', ['technician'], { farms: [{ id: f.A }, { id: f.C }] });
      // Both roles: technician on A, farmer (reads only) on B.
      await seedUser(db.sql, 'both@example.com', ['farmer', 'technician'], {
        farms: [
          { id: f.A, as: 'technician' },
          { id: f.B, as: 'farmer' },
        ],
      });
      await seedUser(db.sql, 'admin@example.com', ['admin']);
    },
  },
);
const as = clientsByEmail(() => ctx.server.app);
const path = (device: string) => `/api/v1/devices/${device}`;
const stored = async (id: string) =>
  (
    await ctx.db.sql<{ label: string | null; farm_id: string | null }[]>`
      SELECT label, farm_id FROM devices WHERE id = ${id}`
  )[0]!;

describe('a device’s label and farm through the API', () => {
  test('can_edit: admins and the farm’s technicians; not its farmers, not a farm the user only reads', async () => {
    const canEdit = async (who: string, device: string) =>
      (await (await as(who)).request('GET', path(device))).body.can_edit;
    assert.equal(await canEdit('admin@example.com', f.devB), true);
    assert.equal(await canEdit('tech@example.com', f.devA), true);
    assert.equal(await canEdit('farmer@example.com', f.devA), false);
    assert.equal(await canEdit('both@example.com', f.devA), true);
    assert.equal(await canEdit('both@example.com', f.devB), false);
  });

  test('a technician labels their farm’s device and takes it to another farm of theirs', async () => {
    const tech = await as('tech@example.com');
    const labelled = await tech.request('PATCH', path(f.devA), { body: { label: 'North barn Pi' } });
    assert.equal(labelled.status, 200, labelled.text);
    assert.equal(labelled.body.label, 'North barn Pi');
    assert.equal(labelled.body.farm.id, f.A, 'a label alone keeps the farm');
    const moved = await tech.request('PATCH', path(f.devA), { body: { farm_id: f.C } });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual(await stored(f.devA), { label: 'North barn Pi', farm_id: f.C });
    await ctx.db.sql`UPDATE devices SET label = NULL, farm_id = ${f.A} WHERE id = ${f.devA}`;
  });

  test('a technician claims an unassigned Pi for their farm and releases it', async () => {
    const spare = await seedDevice(ctx.db.sql, 'dev-set-new', null);
    const tech = await as('tech@example.com');
    const claimed = await tech.request('PATCH', path(spare), { body: { label: 'Chute Pi', farm_id: f.A } });
    assert.equal(claimed.status, 200, claimed.text);
    assert.deepEqual(await stored(spare), { label: 'Chute Pi', farm_id: f.A });
    const released = await tech.request('PATCH', path(spare), { body: { farm_id: null } });
    assert.equal(released.status, 200, released.text);
    assert.equal(released.body.farm, null);
    assert.deepEqual(await stored(spare), { label: 'Chute Pi', farm_id: null });
  });

  test('refusals name the problem and change nothing', async () => {
    const before = await stored(f.devA);
    // A farmer: 403 for any device id (the role is checked first), even an unknown one.
    const farmer = await as('farmer@example.com');
    assert.equal((await farmer.request('PATCH', path(f.devA), { body: { label: 'x' } })).status, 403);
    const unknown = '00000000-0000-4000-8000-000000000000';
    assert.equal((await farmer.request('PATCH', path(unknown), { body: { label: 'x' } })).status, 403);
    // A technician: another farm's device does not exist for them.
    const tech = await as('tech@example.com');
    assert.equal((await tech.request('PATCH', path(f.devB), { body: { label: 'x' } })).status, 404);
    // Moving to a farm they cannot see: 422 naming /farm_id.
    const away = await tech.request('PATCH', path(f.devA), { body: { farm_id: f.B } });
    assert.equal(away.status, 422, away.text);
    assert.deepEqual(problemPointers(away), ['/farm_id']);
    // Both roles: B's device is theirs to read, not to change; A's device cannot move to B.
    const both = await as('both@example.com');
    const readOnly = await both.request('PATCH', path(f.devB), { body: { label: 'x' } });
    assert.equal(readOnly.status, 403, readOnly.text);
    const toReadOnly = await both.request('PATCH', path(f.devA), { body: { label: 'x', farm_id: f.B } });
    assert.equal(toReadOnly.status, 403, toReadOnly.text);
    assert.deepEqual(await stored(f.devA), before);
    assert.deepEqual(await stored(f.devB), { label: null, farm_id: f.B });
  });
});
