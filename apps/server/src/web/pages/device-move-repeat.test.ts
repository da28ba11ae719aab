import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seedDevice } from '../../test-seed.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// Review r18 F1 on a real database: a dated device move ("Moved on") sent twice — no JavaScript, a
// double press, a retried POST — was recorded by the first and refused by the second with "Moved on
// only with a change of farm", telling a person whose move was recorded that it was refused. The
// repeat is answered as done; another time on the same farm is still refused.

const { ctx, w } = useDashboardApp();

test('a dated move sent again is answered as recorded, once in the history; another time is still refused', async () => {
  const device = await seedDevice(ctx.db.sql, 'dev-twice', w.farmA);
  const admin = await pageClient(ctx.server.app, w.users.admin.email);
  const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  const fields = { label: 'Chute Pi', farm_id: w.farmB, moved_at: `${day}T08:30`, refile_scans: 'on' };
  const first = await admin.post(`/fleet/${device}`, fields);
  assert.equal(first.status, 303, strip(first.html).slice(0, 300));
  const again = await admin.post(`/fleet/${device}`, fields);
  assert.equal(again.status, 303, strip(again.html).slice(0, 300));
  assert.equal(again.location, `/fleet/${device}?candidates=0&refiled=0&done=device-moved-late`);
  assert.match(strip((await admin.get(again.location!)).html), /Move recorded at the time you gave/);
  const moves = await ctx.db.sql`
    SELECT from_farm_id, to_farm_id FROM device_farm_moves WHERE device_id = ${device} ORDER BY id`;
  assert.deepEqual(
    moves.map((m) => [m.from_farm_id, m.to_farm_id]),
    [[w.farmA, w.farmB]],
    'recorded once',
  );
  const [row] = await ctx.db.sql`SELECT farm_id, label FROM devices WHERE id = ${device}`;
  assert.deepEqual({ ...row }, { farm_id: w.farmB, label: 'Chute Pi' });
  const other = await admin.post(`/fleet/${device}`, { ...fields, moved_at: `${day}T09:30` });
  assert.equal(other.status, 422);
  assert.match(textById(other.html, 'field-moved_at-error') ?? '', /only with a change of/);
});
