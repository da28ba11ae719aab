import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apiClient } from '../../test-api-client.ts';
import { seedDevice, seedScan, TEST_PASSWORD } from '../../test-seed.ts';
import { formatLocal } from '../time/format-local.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { pageClient, strip, textById } from './test-page-client.ts';

// Review r11 F10 on a real database: a device's page and its fleet row are in its farm's local time
// (issue 12) whoever looks — not in the viewer's common zone of all their farms, which is UTC for an
// admin whose farms span zones. Maple Farm is moved to Auckland (UTC+13 in December), Birch Farm stays
// in Ontario: the admin's farms span two zones, the farmer's one.

const AUCKLAND = 'Pacific/Auckland';
let loose = '';
/** Midnight today in Auckland and in UTC; one scan of dev-a a minute before the later of them. */
let starts: { auckland: Date; utc: Date };
let expectedToday = 0;

// One seed (node:test starts a file's before() hooks together, so a second one would run too early).
const { ctx, w } = useDashboardApp(async (sql, world) => {
  await sql`UPDATE farms SET centroid = ST_SetSRID(ST_MakePoint(174.76, -36.85), 4326) WHERE id = ${world.farmA}`;
  loose = await seedDevice(sql, 'dev-loose', null);
  const [s] = await sql<{ auckland: Date; utc: Date }[]>`
    SELECT date_trunc('day', now() AT TIME ZONE ${AUCKLAND}) AT TIME ZONE ${AUCKLAND} AS auckland,
           date_trunc('day', now(), 'UTC') AS utc`;
  starts = s!;
  // Today in one zone and yesterday in the other, whatever the hour the test runs at.
  const at = new Date(Math.max(starts.auckland.getTime(), starts.utc.getTime()) - 60_000);
  await seedScan(sql, { farmId: world.farmA, deviceId: world.deviceA, capturedAt: at.toISOString() });
  expectedToday = at >= starts.auckland ? 1 : 0;
});

const as = (who: keyof typeof w.users) => pageClient(ctx.server.app, w.users[who].email);
/** The "Scans today" link of a device's fleet row. */
const scansToday = (html: string, id: string) =>
  Number(new RegExp(`href="/scans\\?device_id=${id}">(\\d+)</a>`).exec(html)?.[1]);

describe('device times in its farm’s zone (r11 F10)', () => {
  test('the fleet counts scans today from the farm’s midnight for an admin too, and names the zone on the row', async () => {
    const admin = (await (await as('admin')).get('/fleet')).html;
    const farmer = (await (await as('farmer')).get('/fleet')).html;
    assert.equal(scansToday(farmer, w.deviceA), expectedToday, 'the farmer: from midnight in Auckland');
    assert.equal(scansToday(admin, w.deviceA), expectedToday, 'the admin: the same count');
    assert.match(strip(admin), /Times and scans today in each device's farm's local time: UTC, unless a row/);
    assert.match(strip(admin), /Maple Farm \(Pacific\/Auckland\)/, 'the admin’s row names its zone');
    assert.match(strip(admin), /Birch Farm \(America\/New_York\)/);
    assert.doesNotMatch(strip(admin), /unassigned \(UTC\)/, 'UTC is the page’s zone here');
    assert.match(strip(farmer), /local time: Pacific\/Auckland, unless/);
    assert.doesNotMatch(strip(farmer), /Maple Farm \(Pacific/, 'the page’s zone is not repeated on the row');
  });

  test('the device page is in the farm’s zone for the admin as for the farmer; UTC, said so, without a farm', async () => {
    const [d] = await ctx.db.sql<
      { last_seen_at: Date }[]
    >`SELECT last_seen_at FROM devices WHERE id = ${w.deviceA}`;
    const seen = formatLocal(d!.last_seen_at, AUCKLAND);
    for (const who of ['admin', 'farmer'] as const) {
      const html = (await (await as(who)).get(`/fleet/${w.deviceA}`)).html;
      assert.equal(
        textById(html, 'device-zone'),
        'Times in Pacific/Auckland, the local time of Maple Farm.',
        who,
      );
      assert.ok(strip(html).includes(`Last seen ${seen}`), `${who}: last seen ${seen}`);
    }
    const none = (await (await as('admin')).get(`/fleet/${loose}`)).html;
    assert.equal(textById(none, 'device-zone'), 'Times in UTC: the device has no farm.');
  });

  test('GET /api/v1/devices keeps `tz`: "today" from midnight in tz, UTC by default', async () => {
    const api = apiClient(ctx.server.app);
    assert.equal((await api.signIn(w.users.admin.email, TEST_PASSWORD)).status, 200);
    const row = async (query: string) =>
      ((await api.request('GET', `/api/v1/devices${query}`)).body.items as Record<string, unknown>[]).find(
        (d) => d.id === w.deviceA,
      )!;
    assert.equal(new Date((await row('')).today_starts_at as string).getTime(), starts.utc.getTime());
    const inAuckland = await row(`?tz=${encodeURIComponent(AUCKLAND)}`);
    assert.equal(new Date(inAuckland.today_starts_at as string).getTime(), starts.auckland.getTime());
    assert.equal(inAuckland.scans_today, expectedToday);
  });
});
