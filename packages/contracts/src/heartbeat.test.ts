import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatProblem, HEARTBEAT_VERSION, type HeartbeatBody, validateHeartbeat } from './index.ts';

const minimal = (): HeartbeatBody => ({
  heartbeat_version: HEARTBEAT_VERSION,
  device_code: 'dev-0001',
  sent_at: '2026-12-05T10:00:00.000Z',
  agent_version: '0.1.0',
  uptime_s: 3600,
  outbox: { pending_captures: 0, pending_bytes: 0, oldest_pending_age_s: null, quarantined: 0 },
  disk: { free_bytes: 12_000_000_000 },
  clock: { synced: true },
  probe: { connected: true },
});

const full = (): HeartbeatBody => ({
  ...minimal(),
  models: [
    { name: 'ribeye-hint', version: '3.0.0' },
    { name: 'ribeye-view', version: '3.1.0' },
  ],
  system_uptime_s: 86_400,
  outbox: {
    pending_captures: 3,
    pending_bytes: 1_500_000,
    oldest_pending_age_s: 620,
    quarantined: 1,
    discarded: 2,
  },
  last_capture_at: '2026-12-05T09:59:10.120Z',
  last_upload_at: null,
  disk: { free_bytes: 9_000_000_000, floor_bytes: 209_715_200, free_inodes: 480_211 },
  clock: { synced: false, source: 'unsynchronized', offset_ms: -1234.5 },
  probe: { connected: true, kind: 'serial', model: 'Convex-3.5MHz', frame_rate_fps: 14.9 },
  health: { ok: false, reason: 'disk below the floor' },
  last_error: { at: '2026-12-05T09:58:00Z', message: 'image.png: connect ETIMEDOUT', source: 'upload' },
  ear_tag_reader: { connected: true, last_read_at: '2026-12-05T09:59:01Z' },
  capture_button: {
    up: false,
    down_since: '2026-12-05T09:00:00.000Z',
    error: 'GPIO sysfs interface /sys/class/gpio does not exist. Fix: …',
  },
  status_signals: {
    led: { up: false, down_since: '2026-12-05T09:30:00.000Z', error: 'EIO: i/o error, write' },
    buzzer: null,
  },
  captures_by_result: { captured: 41, not_a_ribeye_view: 6, off_animal: 1, error: 0, busy: 0 },
});

const problems = (data: unknown) => {
  const r = validateHeartbeat(data);
  return r.ok ? [] : r.problems.map(formatProblem);
};

describe('device heartbeat body', () => {
  test('the minimal and the full document are valid; unknown fields are accepted', () => {
    assert.deepEqual(problems(minimal()), []);
    assert.deepEqual(problems(full()), []);
    assert.deepEqual(problems({ ...minimal(), heartbeat_version: '1.3.0', later: { field: 1 } }), []);
  });

  test('captures_by_result: counts by result label, nothing else', () => {
    assert.deepEqual(problems({ ...minimal(), captures_by_result: {} }), []);
    assert.deepEqual(problems({ ...minimal(), captures_by_result: { not_a_ribeye_view: -1 } }), [
      '/captures_by_result/not_a_ribeye_view: must be >= 0',
    ]);
    assert.deepEqual(problems({ ...minimal(), captures_by_result: { captured: 1.5 } }), [
      '/captures_by_result/captured: must be integer',
    ]);
    assert.notDeepEqual(problems({ ...minimal(), captures_by_result: { 'Not A Label': 1 } }), []);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`r${i}`, 1]));
    assert.notDeepEqual(problems({ ...minimal(), captures_by_result: many }), []);
  });

  test('outbox.discarded (optional, additive): a count', () => {
    assert.deepEqual(problems({ ...minimal(), outbox: { ...minimal().outbox, discarded: 0 } }), []);
    assert.deepEqual(problems({ ...minimal(), outbox: { ...minimal().outbox, discarded: -1 } }), [
      '/outbox/discarded: must be >= 0',
    ]);
  });

  test('disk.free_inodes (optional, additive): a count, or null where the file system does not count them', () => {
    const disk = (v: unknown) =>
      problems({ ...minimal(), disk: { free_bytes: 12_000_000_000, free_inodes: v } });
    assert.deepEqual(problems(minimal()), [], 'an older agent without it');
    assert.deepEqual(disk(10), []);
    assert.deepEqual(disk(0), []);
    assert.deepEqual(disk(null), []);
    assert.deepEqual(disk(-1), ['/disk/free_inodes: must be >= 0']);
    assert.deepEqual(disk(1.5), ['/disk/free_inodes: must be integer or null']);
    assert.deepEqual(disk('10'), ['/disk/free_inodes: must be integer or null']);
    assert.equal(disk(2 ** 53).length, 1, 'beyond what JSON holds exactly');
  });

  test('capture_button (optional, additive): up, and when down since when and why', () => {
    assert.deepEqual(problems({ ...minimal(), capture_button: null }), []);
    assert.deepEqual(problems({ ...minimal(), capture_button: { up: true } }), []);
    assert.deepEqual(problems({ ...minimal(), capture_button: {} }), ['/capture_button/up: is required']);
    assert.equal(
      problems({ ...minimal(), capture_button: { up: false, down_since: 'yesterday' } }).length,
      1,
    );
    assert.equal(
      problems({ ...minimal(), capture_button: { up: false, error: 'x'.repeat(1001) } }).length,
      1,
    );
  });

  test('status_signals (optional, additive): the LED and the buzzer, each up or down since when and why', () => {
    const led = (v: unknown) => problems({ ...minimal(), status_signals: { led: v, buzzer: null } });
    assert.deepEqual(problems({ ...minimal(), status_signals: null }), []);
    assert.deepEqual(problems({ ...minimal(), status_signals: {} }), []);
    assert.deepEqual(led({ up: true, down_since: null, error: null }), []);
    assert.deepEqual(led(null), []);
    assert.deepEqual(led({}), ['/status_signals/led/up: is required']);
    assert.deepEqual(problems({ ...minimal(), status_signals: { buzzer: { up: 'no' } } }), [
      '/status_signals/buzzer/up: must be boolean',
    ]);
    assert.equal(led({ up: false, down_since: 'yesterday' }).length, 1);
    assert.equal(led({ up: false, error: 'x'.repeat(1001) }).length, 1);
    assert.equal(problems({ ...minimal(), status_signals: 'down' }).length, 1);
  });

  test('every problem is named with its pointer', () => {
    const { outbox: _o, ...noOutbox } = minimal();
    assert.deepEqual(problems(noOutbox), ['/outbox: is required']);
    assert.deepEqual(problems({ ...minimal(), heartbeat_version: '2.0.0' }), [
      '/heartbeat_version: must be a semantic version 1.x.y, e.g. "1.0.0"',
    ]);
    assert.deepEqual(problems({ ...minimal(), device_code: 'DEV 1', uptime_s: -1 }), [
      '/device_code: must be a device code: 1-63 of a-z 0-9 _ -, starting with a letter or digit',
      '/uptime_s: must be >= 0',
    ]);
    assert.deepEqual(
      problems({ ...minimal(), outbox: { ...minimal().outbox, pending_bytes: 1.5 }, sent_at: 'yesterday' }),
      [
        '/sent_at: must be an ISO-8601 UTC timestamp ending in Z, e.g. "2025-09-09T14:18:32Z"',
        '/outbox/pending_bytes: must be integer',
      ],
    );
    assert.deepEqual(problems({ ...minimal(), clock: { synced: 'yes' } }), [
      '/clock/synced: must be boolean',
    ]);
    assert.deepEqual(
      problems({ ...full(), last_error: { at: '2026-12-05T09:58:00Z', message: 'x'.repeat(1001) } }),
      ['/last_error/message: must be at most 1000 characters long'],
    );
  });
});
