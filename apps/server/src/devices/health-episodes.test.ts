import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HeartbeatBody } from '@cti/contracts';
import {
  CLOCK_SYNC_BOOT_GRACE_S,
  type EpisodeState,
  evaluateEpisodes,
  type Thresholds,
} from './health-episodes.ts';

const MB = 1024 * 1024;
const thresholds: Thresholds = {
  backlogAgeSeconds: 1800,
  backlogCaptures: 100,
  diskLowBytes: 1024 * MB,
  clockMaxOffsetMs: 5000,
};
const none: EpisodeState = { device_backlog: null, device_disk_low: null, device_clock_unsynced: null };
const t0 = new Date('2026-12-05T10:00:00Z');
const t1 = new Date('2026-12-05T10:01:00Z');

function body(o: {
  age?: number | null;
  pending?: number;
  quarantined?: number;
  free?: number | null;
  floor?: number;
  inodes?: number | null;
  synced?: boolean;
  source?: string;
  offset?: number | null;
}): HeartbeatBody {
  return {
    heartbeat_version: '1.0.0',
    device_code: 'dev-0001',
    sent_at: t0.toISOString(),
    agent_version: '0.1.0',
    uptime_s: 60,
    outbox: {
      pending_captures: o.pending ?? 0,
      pending_bytes: 0,
      oldest_pending_age_s: o.age ?? null,
      quarantined: o.quarantined ?? 0,
    },
    disk: {
      free_bytes: o.free === undefined ? 50_000 * MB : o.free,
      floor_bytes: o.floor ?? 200 * MB,
      ...(o.inodes === undefined ? {} : { free_inodes: o.inodes }),
    },
    clock: {
      synced: o.synced ?? true,
      ...(o.source ? { source: o.source } : {}),
      offset_ms: o.offset ?? null,
    },
    probe: { connected: true },
  };
}

const run = (b: HeartbeatBody, previous = none, skewMs = 0, at = t1) =>
  evaluateEpisodes({ body: b, skewMs, previous, thresholds, at });

describe('health episodes', () => {
  test('a healthy device starts nothing and closes nothing', () => {
    assert.deepEqual(run(body({})), { state: none, started: [] });
  });

  test('backlog: old pending capture, many captures, or anything quarantined starts one episode', () => {
    for (const b of [body({ age: 1800, pending: 1 }), body({ pending: 100 }), body({ quarantined: 1 })]) {
      const { state, started } = run(b);
      assert.deepEqual(state.device_backlog, t1);
      assert.deepEqual(
        started.map((e) => [e.type, e.since]),
        [['device_backlog', t1]],
      );
      assert.deepEqual(started[0]!.details, b.outbox);
    }
  });

  test('an open episode continues without a new start, and closes only below half the thresholds', () => {
    const open = { ...none, device_backlog: t0 };
    assert.deepEqual(run(body({ age: 1799, pending: 1 }), open), { state: open, started: [] });
    assert.deepEqual(run(body({ age: 900, pending: 1 }), open), { state: open, started: [] }, 'still ≥ half');
    assert.deepEqual(run(body({ age: 899, pending: 49 }), open), { state: none, started: [] });
  });

  test("disk low: below the server's limit or the agent's own floor; unknown free space changes nothing", () => {
    const low = run(body({ free: 1024 * MB - 1 }));
    assert.deepEqual(low.started[0], {
      type: 'device_disk_low',
      since: t1,
      details: { free_bytes: 1024 * MB - 1, floor_bytes: 200 * MB, limit_bytes: 1024 * MB },
    });
    const floorAbove = run(body({ free: 1500 * MB, floor: 2000 * MB }));
    assert.equal(floorAbove.started[0]?.type, 'device_disk_low');
    const open = { ...none, device_disk_low: t0 };
    assert.deepEqual(
      run(body({ free: 1100 * MB }), open).state,
      open,
      'within 10 % above the limit: still low',
    );
    assert.deepEqual(run(body({ free: 1200 * MB }), open).state, none);
    assert.deepEqual(run(body({ free: null }), open).state, open);
    assert.deepEqual(run(body({ free: null })).started, []);
  });

  test('disk out of inodes (fewer than 64) with gigabytes free: a disk episode naming them; it ends only at twice that; null or absent inodes: by bytes alone', () => {
    const short = run(body({ inodes: 63 }));
    assert.deepEqual(short.started[0], {
      type: 'device_disk_low',
      since: t1,
      details: { free_bytes: 50_000 * MB, floor_bytes: 200 * MB, limit_bytes: 1024 * MB, free_inodes: 63 },
    });
    assert.deepEqual(run(body({ inodes: 64 })).started, []);
    assert.deepEqual(run(body({ inodes: null })).started, [], 'a file system that does not count them');
    const open = { ...none, device_disk_low: t0 };
    assert.deepEqual(run(body({ inodes: 127 }), open).state, open, 'still short of twice the margin');
    assert.deepEqual(run(body({ inodes: 128 }), open).state, none);
    assert.deepEqual(run(body({ free: null, inodes: 10 })).started[0]?.type, 'device_disk_low');
    assert.deepEqual(run(body({ free: null, inodes: 500 }), open).state, open, 'bytes unknown: not over');
  });

  test("clock: not synchronised, or off by more than the limit (the device's measurement, else the server's)", () => {
    assert.equal(run(body({ synced: false })).started[0]?.type, 'device_clock_unsynced');
    assert.deepEqual(run(body({ offset: -5001 })).started[0]?.details, {
      synced: true,
      source: null,
      offset_ms: -5001,
    });
    assert.deepEqual(run(body({}), none, 6000).started[0]?.details.offset_ms, 6000, 'server-measured skew');
    assert.deepEqual(run(body({ offset: 100 }), none, 6000).started, [], "the device's own figure wins");
    // An agent that cannot tell whether NTP runs (no timedatectl: a container, no systemd) says
    // synced: false, source 'unknown'; then the measured offset alone decides.
    assert.deepEqual(run(body({ synced: false, source: 'unknown', offset: -156 })).started, []);
    assert.equal(
      run(body({ synced: false, source: 'unknown', offset: -5001 })).started[0]?.type,
      'device_clock_unsynced',
    );
    assert.equal(
      run(body({ synced: false, source: 'unsynchronized', offset: 10 })).started[0]?.type,
      'device_clock_unsynced',
      'NTP known to be off: an episode even while the clock is still right',
    );
    const open = { ...none, device_clock_unsynced: t0 };
    assert.deepEqual(run(body({ offset: 2600 }), open).state, open);
    assert.deepEqual(run(body({ offset: 2400 }), open).state, none);
  });

  test('a Pi just booted: synced false alone starts no clock episode before CLOCK_SYNC_BOOT_GRACE_S of system uptime (review r11 F9)', () => {
    const booted = (s: number, o: Parameters<typeof body>[0]) => ({ ...body(o), system_uptime_s: s });
    const unsynced = { synced: false, source: 'unsynchronized', offset: 40 };
    assert.deepEqual(run(booted(21, unsynced)).started, []);
    assert.deepEqual(run(booted(CLOCK_SYNC_BOOT_GRACE_S - 1, unsynced)).started, []);
    assert.equal(run(booted(CLOCK_SYNC_BOOT_GRACE_S, unsynced)).started[0]?.type, 'device_clock_unsynced');
    assert.equal(
      run(booted(21, { ...unsynced, offset: -5001 })).started[0]?.type,
      'device_clock_unsynced',
      'an offset past the limit is told at once, booting or not',
    );
    assert.equal(run(body(unsynced)).started[0]?.type, 'device_clock_unsynced', 'no system uptime: no grace');
    const open = { ...none, device_clock_unsynced: t0 };
    assert.deepEqual(run(booted(21, unsynced), open).state, open, 'a reboot does not end an open episode');
  });

  test('several conditions start several episodes at once', () => {
    const { started } = run(body({ quarantined: 2, free: 10 * MB, synced: false }));
    assert.deepEqual(started.map((e) => e.type).sort(), [
      'device_backlog',
      'device_clock_unsynced',
      'device_disk_low',
    ]);
  });
});
