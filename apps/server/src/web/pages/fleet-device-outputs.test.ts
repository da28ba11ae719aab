import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { useDeviceHeartbeats } from './test-device-heartbeats.ts';

// On a real database, with heartbeats signed like the agent's: a Pi whose capture button cannot be opened
// (review r20 F10, `capture_button`) or whose status LED or buzzer line failed (a write got EIO,
// `status_signals`) keeps running and says so in its heartbeat; the fleet, the device page and the API
// show it, with the agent's fix, until a heartbeat says the line is up again.

const { ctx, beat, fleetRow, deviceHealth, latest } = useDeviceHeartbeats();

beforeEach(async () => {
  await ctx.db.sql`TRUNCATE device_heartbeats, device_health, device_request_rejections`;
});

const EIO = 'EIO: i/o error, write';
const NO_GPIO =
  'GPIO sysfs interface /sys/class/gpio does not exist, and gpiodetect is not installed (or not on PATH). Fix: install libgpiod tools (`sudo apt install gpiod`) for the gpiomon fallback';

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

    const section = await deviceHealth();
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
    assert.match(await deviceHealth(), /Capture button up/);
  });

  test('an agent without a GPIO button (or one that does not report it): no badge, capture_button null', async () => {
    await beat({});
    assert.doesNotMatch(await fleetRow(), /capture button/);
    assert.equal((await latest()).capture_button, null);
    await beat({ capture_button: null });
    assert.equal((await latest()).capture_button, null);
  });
});

describe('a Pi whose status LED line failed', () => {
  test('the fleet row, the device page and the API say since when and why; captures are not said to stop; a heartbeat with the LED up clears it', async () => {
    const downSince = new Date(Date.now() - 600_000).toISOString();
    await beat({
      status_signals: { led: { up: false, down_since: downSince, error: EIO }, buzzer: { up: true } },
    });

    const row = await fleetRow();
    assert.match(
      row,
      /Problem: LED down since \d{4}-\d\d-\d\d \d\d:\d\d \S+: EIO: i\/o error, write — the technician sees no status light; captures go on and the agent retries/,
    );
    assert.match(row, /Fix: check the LED's wiring and HAT, then run cti-agent doctor on the Pi/);
    assert.doesNotMatch(row, /buzzer down/);

    const section = await deviceHealth();
    assert.match(section, /Status LED down: EIO: i\/o error, write since \d{4}-\d\d-\d\d/);
    assert.match(section, /Buzzer up/);

    assert.deepEqual((await latest()).status_signals, {
      led: { up: false, down_since: downSince, error: EIO },
      buzzer: { up: true, down_since: null, error: null },
    });

    await beat({ status_signals: { led: { up: true, down_since: null, error: null }, buzzer: null } });
    assert.doesNotMatch(await fleetRow(), /LED down/);
    assert.deepEqual((await latest()).status_signals, {
      led: { up: true, down_since: null, error: null },
      buzzer: null,
    });
    const after = await deviceHealth();
    assert.match(after, /Status LED up/);
    assert.match(after, /Buzzer —/);
  });

  test('an agent without LED and buzzer (or one that does not report them): no badge, status_signals null', async () => {
    await beat({});
    assert.doesNotMatch(await fleetRow(), /LED|buzzer/);
    assert.equal((await latest()).status_signals, null);
    assert.match(await deviceHealth(), /Status LED —/);
    await beat({ status_signals: null });
    assert.equal((await latest()).status_signals, null);
  });
});
