import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { MB } from '../../devices/test-heartbeats.ts';
import { useDeviceHeartbeats } from './test-device-heartbeats.ts';
import { strip } from './test-page-client.ts';

// On a real database, with heartbeats signed like the agent's: a Pi whose card is out of inodes (review
// r20 F7: full of small files, gigabytes free) refuses every capture. Its heartbeat says
// `disk.free_inodes`; the fleet, the device page, the API and the disk notification say "out of inodes"
// instead of plenty of disk, until a heartbeat says they are back.

const { ctx, w, beat, as, fleetRow, deviceHealth, latest } = useDeviceHeartbeats();

beforeEach(async () => {
  await ctx.db.sql`TRUNCATE device_heartbeats, device_health, device_request_rejections, notifications`;
});

const REASON = 'disk out of inodes (10 left, 9000 MB free): captures are refused';
const FREE = 9000 * MB;

describe('a Pi whose card is out of inodes with gigabytes free', () => {
  test('the fleet row, the device page, the API and the disk notification say out of inodes; a heartbeat with inodes back clears the badge and ends the episode', async () => {
    await beat({
      disk: { free_bytes: FREE, floor_bytes: 200 * MB, free_inodes: 10 },
      health: { ok: false, reason: REASON },
    });

    // Before: the row said "OK" beside 8.8 GB free, bar the agent's reason as a capture-loop warning.
    const row = await fleetRow();
    assert.match(row, /Problem: disk out of inodes: 10 left \(8\.8 GB free\) — every capture is refused/);
    assert.match(row, /8\.8 GB, no inodes/);
    assert.match(row, /Fix: on the Pi, df -i \/var\/lib\/cti shows it: the card is full of small files/);
    assert.doesNotMatch(row, /capture loop|disk low/);

    const section = await deviceHealth();
    assert.match(
      section,
      /Disk free 8\.8 GB \(captures stop below 200 MB\); 10 free inodes — out of inodes: captures are refused below 64/,
    );

    const snapshot = await latest();
    assert.equal(snapshot.disk_free_inodes, 10);
    assert.equal(snapshot.disk_free_bytes, FREE);
    assert.equal(typeof snapshot.disk_low_since, 'string', 'the disk episode is open');

    const [told] = await ctx.db.sql<{ payload: { free_inodes: number; free_bytes: number } }[]>`
      SELECT payload FROM notifications WHERE type = 'device_disk_low' AND user_id = ${w.users.technician.id}`;
    assert.equal(told?.payload.free_inodes, 10);
    assert.equal(told?.payload.free_bytes, FREE);
    const { html } = await (await as('technician')).get('/notifications');
    assert.match(
      strip(html),
      /Device dev-a is out of inodes on its disk \(10 left\): it refuses every capture/,
    );

    await beat({ disk: { free_bytes: FREE, floor_bytes: 200 * MB, free_inodes: 480_211 } });
    const after = await fleetRow();
    assert.doesNotMatch(after, /inodes|disk low/);
    assert.match(after, /Healthy: OK/);
    assert.equal((await latest()).disk_free_inodes, 480_211);
    assert.equal((await latest()).disk_low_since, null, 'the episode ended');
    assert.match(await deviceHealth(), /; 480,211 free inodes/);
  });

  test('an agent that does not report inodes, or a file system that does not count them: null, no badge, "not reported"', async () => {
    await beat({});
    assert.equal((await latest()).disk_free_inodes, null);
    assert.match(await fleetRow(), /Healthy: OK/);
    assert.match(await deviceHealth(), /; free inodes not reported/);
    await beat({ disk: { free_bytes: FREE, free_inodes: null } });
    assert.equal((await latest()).disk_free_inodes, null);
    assert.match(await fleetRow(), /Healthy: OK/);
  });
});
