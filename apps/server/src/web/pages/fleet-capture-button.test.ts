import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { addDeviceKey } from '../../devices/device-keys.ts';
import { heartbeatBody, signedHeartbeat } from '../../devices/test-heartbeats.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { type PageClient, pageClient, strip, textById } from './test-page-client.ts';

// Review r20 F10 on a real database, with heartbeats signed like the agent's: a Pi that cannot open its
// capture button keeps running and says so in its heartbeat (`capture_button`); the fleet, the device
// page and the API show it, with the agent's fix, until a heartbeat says the button is up again.

const secrets: Record<string, string> = {};
const { ctx, w } = useDashboardApp(async (sql) => {
  secrets['dev-a'] = (await addDeviceKey(sql, 'dev-a')).secret;
});

beforeEach(async () => {
  await ctx.db.sql`TRUNCATE device_heartbeats, device_health, device_request_rejections`;
});

const NO_GPIO =
  'GPIO sysfs interface /sys/class/gpio does not exist, and gpiodetect is not installed (or not on PATH). Fix: install libgpiod tools (`sudo apt install gpiod`) for the gpiomon fallback';

/** A heartbeat of dev-a sent now, signed with its key. */
async function beat(patch: Parameters<typeof heartbeatBody>[2]): Promise<void> {
  const at = Date.now();
  const init = signedHeartbeat(secrets['dev-a']!, heartbeatBody('dev-a', new Date(at), patch), {
    timestamp: Math.floor(at / 1000),
    device: 'dev-a',
  });
  const res = await ctx.server.app.request('/devices/heartbeat', init);
  assert.equal(res.status, 200, await res.text());
}

const as = (who: keyof typeof w.users): Promise<PageClient> => pageClient(ctx.server.app, w.users[who].email);
const fleetRow = async () => {
  const { html } = await (await as('technician')).get('/fleet');
  return strip(html.split('<tr').find((row) => row.includes('<strong>dev-a</strong>')) ?? '');
};
async function latest() {
  const res = await (await as('technician')).api.request('GET', `/api/v1/devices/${w.deviceA}/health`);
  assert.equal(res.status, 200);
  // biome-ignore lint/suspicious/noExplicitAny: checked against the OpenAPI document by the client
  return (res.body as any).latest;
}

describe('a Pi whose capture button is down (r20 F10)', () => {
  test('the fleet row, the device page and the API say since when, why and the fix; a heartbeat with the button up clears it', async () => {
    const downSince = new Date(Date.now() - 3_600_000).toISOString();
    await beat({
      capture_button: { up: false, down_since: downSince, error: NO_GPIO },
      health: { ok: false, reason: 'capture button down: retrying (cti-agent capture still captures)' },
    });

    const row = await fleetRow();
    assert.match(
      row,
      /Problem: capture button down since \d{4}-\d\d-\d\d \d\d:\d\d \S+: GPIO sysfs interface \/sys\/class\/gpio does not exist, and gpiodetect is not installed \(or not on PATH\)\. — presses capture nothing; the agent retries, and cti-agent capture still captures/,
    );
    assert.match(row, /Fix: install libgpiod tools \( ?sudo apt install gpiod ?\) for the gpiomon fallback/);

    const page = await (await as('technician')).get(`/fleet/${w.deviceA}`);
    const section = strip(textById(page.html, 'device-health') ?? '');
    assert.match(
      section,
      /Capture button down: GPIO sysfs interface \/sys\/class\/gpio does not exist.*Fix: install libgpiod tools.* since \d{4}-\d\d-\d\d/,
    );

    assert.deepEqual((await latest()).capture_button, {
      up: false,
      down_since: downSince,
      error: NO_GPIO,
    });

    await beat({ capture_button: { up: true, down_since: null, error: null } });
    assert.doesNotMatch(await fleetRow(), /capture button/);
    assert.deepEqual((await latest()).capture_button, { up: true, down_since: null, error: null });
    const after = await (await as('technician')).get(`/fleet/${w.deviceA}`);
    assert.match(strip(textById(after.html, 'device-health') ?? ''), /Capture button up/);
  });

  test('an agent without a GPIO button (or one that does not report it): no badge, capture_button null', async () => {
    await beat({});
    assert.doesNotMatch(await fleetRow(), /capture button/);
    assert.equal((await latest()).capture_button, null);
    await beat({ capture_button: null });
    assert.equal((await latest()).capture_button, null);
  });
});
