import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeviceHealthRow } from '../../access/device-queries.ts';
import type { DeviceHealthConfig } from '../../config.ts';
import { healthFlags } from './fleet-page.tsx';

const config = { silentAfterSeconds: 600 } as DeviceHealthConfig;
const healthy = {
  age_s: 12,
  silent_since: null,
  backlog_since: null,
  disk_low_since: null,
  clock_unsynced_since: null,
  quarantined: 0,
  pending_captures: 0,
  disk_free_bytes: 50e9,
  clock_synced: true,
  clock_source: 'timesyncd',
  clock_offset_ms: -156,
  probe_connected: true,
  health_ok: true,
  health_reason: null,
} as unknown as DeviceHealthRow;
const texts = (h: Partial<DeviceHealthRow>) => healthFlags({ ...healthy, ...h }, config).map((f) => f.text);

describe('fleet health badges: the clock', () => {
  test('synchronised and close: OK', () => assert.deepEqual(texts({}), ['OK']));
  test('NTP known to be off: a warning even while the offset is small', () =>
    assert.deepEqual(texts({ clock_synced: false, clock_source: 'unsynchronized' }), [
      'clock not synchronised (-0.2 s)',
    ]));
  test('the device cannot tell (no timedatectl) and the measured offset is small: OK', () =>
    assert.deepEqual(texts({ clock_synced: false, clock_source: 'unknown' }), ['OK']));
  test('the device cannot tell and the server opened a clock episode (offset past the limit): off', () =>
    assert.deepEqual(
      texts({
        clock_synced: false,
        clock_source: 'unknown',
        clock_offset_ms: 9000,
        clock_unsynced_since: '2026-12-05T10:00:00Z',
      }),
      ['clock off (9.0 s)'],
    ));
});

describe('fleet health badges: the disk out of inodes', () => {
  const outOfInodes = {
    disk_free_bytes: 11 * 1024 * 1024,
    disk_free_inodes: 10,
    health_ok: false,
    health_reason: 'disk out of inodes (10 left, 11 MB free): captures are refused',
  };
  test('fewer than 64 free inodes: one disk problem saying so with megabytes free, the df -i fix; the agent’s matching health reason is not repeated', () => {
    const flags = healthFlags({ ...healthy, ...outOfInodes }, config);
    assert.deepEqual(
      flags.map((f) => [f.level, f.text]),
      [['bad', 'disk out of inodes: 10 left (11 MB free) — every capture is refused']],
    );
    assert.match(flags[0]?.fix ?? '', /`df -i \/var\/lib\/cti`.*small files/);
  });
  test('with a disk-low episode open as well: the disk badge says inodes, once', () =>
    assert.deepEqual(texts({ ...outOfInodes, disk_low_since: '2026-12-07T06:00:00Z' }), [
      'disk out of inodes: 10 left (11 MB free) — every capture is refused',
    ]));
  test('64 or more, null (not counted) or absent (an older agent): no inode badge', () => {
    for (const disk_free_inodes of [64, 480_211, null, undefined])
      assert.deepEqual(texts({ disk_free_inodes } as Partial<DeviceHealthRow>), ['OK']);
    assert.deepEqual(texts({ disk_free_inodes: null, disk_low_since: '2026-12-07T06:00:00Z' }), [
      'disk low: 46.6 GB free',
    ]);
  });
  test('the bytes floor is what the agent names: its reason stays beside the inode badge', () =>
    assert.deepEqual(
      texts({
        ...outOfInodes,
        health_reason: 'disk below the floor (11 MB free < 210 MB): captures are refused',
      }),
      [
        'disk out of inodes: 10 left (11 MB free) — every capture is refused',
        'capture loop: disk below the floor (11 MB free < 210 MB): captures are refused',
      ],
    ));
});

describe('fleet health badges: the capture button', () => {
  const flags = (capture_button: DeviceHealthRow['capture_button']) =>
    healthFlags({ ...healthy, capture_button }, config, { timeZone: 'UTC' });
  test('up, or not reported: no badge', () => {
    assert.deepEqual(texts({ capture_button: { up: true, down_since: null, error: null } }), ['OK']);
    assert.deepEqual(texts({ capture_button: null }), ['OK']);
  });
  test('down: a problem with since when and why, the fix split off the agent’s error', () => {
    assert.deepEqual(
      flags({
        up: false,
        down_since: '2026-12-07T06:00:00.000Z',
        error: 'no permission to use sysfs GPIO 529 (EACCES). Fix: add the service user to the gpio group',
      }),
      [
        {
          level: 'bad',
          text: 'capture button down since 2026-12-07 06:00 UTC: no permission to use sysfs GPIO 529 (EACCES). — presses capture nothing; the agent retries, and cti-agent capture still captures',
          fix: 'add the service user to the gpio group',
        },
      ],
    );
  });
  test('down, and the agent’s health not ok because of it: one badge, not a second "capture loop" one', () => {
    const down = { up: false, down_since: null, error: 'no permission (EACCES). Fix: add the user to gpio' };
    const reason = 'capture button down: retrying (cti-agent capture still captures)';
    const both = healthFlags(
      { ...healthy, capture_button: down, health_ok: false, health_reason: reason },
      config,
      { timeZone: 'UTC' },
    ).map((f) => f.text);
    assert.equal(both.length, 1, both.join(' | '));
    assert.match(both[0]!, /^capture button down/);
    // Health not ok for another reason while the button is down: both say their part.
    const other = healthFlags(
      { ...healthy, capture_button: down, health_ok: false, health_reason: 'probe source failed' },
      config,
      { timeZone: 'UTC' },
    ).map((f) => f.text);
    assert.deepEqual(other.slice(1), ['capture loop: probe source failed']);
  });
  test('down without an error or a time (a time in a stay hidden from the viewer): still a problem, doctor as the fix', () => {
    const [flag] = flags({ up: false, down_since: null, error: null });
    assert.equal(
      flag?.text,
      'capture button down: the agent cannot open it — presses capture nothing; the agent retries, and cti-agent capture still captures',
    );
    assert.match(flag?.fix ?? '', /cti-agent doctor/);
  });
});

describe('fleet health badges: the status LED and buzzer', () => {
  const flags = (status_signals: DeviceHealthRow['status_signals']) =>
    healthFlags({ ...healthy, status_signals }, config, { timeZone: 'UTC' });
  test('up, not configured or not reported: no badge', () => {
    const up = { up: true, down_since: null, error: null };
    assert.deepEqual(texts({ status_signals: { led: up, buzzer: null } }), ['OK']);
    assert.deepEqual(texts({ status_signals: null }), ['OK']);
  });
  test('down: a warning each, since when and why; captures go on; the fix split off the agent’s error or doctor', () => {
    assert.deepEqual(
      flags({
        led: { up: false, down_since: '2026-12-07T06:00:00.000Z', error: 'EIO: i/o error, write' },
        buzzer: {
          up: false,
          down_since: null,
          error: 'no permission to use sysfs GPIO 593 (EACCES). Fix: add the service user to the gpio group',
        },
      }),
      [
        {
          level: 'warn',
          text: 'LED down since 2026-12-07 06:00 UTC: EIO: i/o error, write — the technician sees no status light; captures go on and the agent retries',
          fix: "check the LED's wiring and HAT, then run `cti-agent doctor` on the Pi: its gpio led line names the fix",
        },
        {
          level: 'warn',
          text: 'buzzer down: no permission to use sysfs GPIO 593 (EACCES). — the technician hears no beeps; captures go on and the agent retries',
          fix: 'add the service user to the gpio group',
        },
      ],
    );
  });
});
