import { DISK_INODES_SHORT, type HeartbeatBody } from '@cti/contracts';
import type { DeviceHealthConfig } from '../config.ts';

// Health conditions a heartbeat can show, as episodes: an episode starts on the first heartbeat that
// shows the condition and ends on the first one that is clearly over it. "Clearly": an open episode
// closes only below a lower bar (half the backlog thresholds, 10 % more disk than the limit, half the
// clock offset), so a device hovering at a threshold does not start a new episode — and a new
// notification — every minute.

export type EpisodeType = 'device_backlog' | 'device_disk_low' | 'device_clock_unsynced';

/** Start of each open episode (device_health's *_since columns), null when there is none. */
export type EpisodeState = Record<EpisodeType, Date | null>;

export type StartedEpisode = { type: EpisodeType; since: Date; details: Record<string, unknown> };

export type Thresholds = Pick<
  DeviceHealthConfig,
  'backlogAgeSeconds' | 'backlogCaptures' | 'diskLowBytes' | 'clockMaxOffsetMs'
>;

type Check = {
  /** True when the condition holds; `open` says whether an episode is already running (lower bar). */
  holds(open: boolean): boolean | null;
  details(): Record<string, unknown>;
};

/**
 * A Pi's first minutes after boot: NTP has not synchronised yet (time-sync.target is reached when
 * timesyncd starts, not when it has synced), so `synced: false` alone — the measured offset within the
 * limit — starts no clock episode while the system has been up for less than this (review r11 F9).
 * Ten minutes: timesyncd's first sync on a Pi with a network takes seconds to a minute; a Pi still
 * unsynchronised after ten has no NTP server it can reach, and is told then.
 */
export const CLOCK_SYNC_BOOT_GRACE_S = 600;

function checks(body: HeartbeatBody, skewMs: number, t: Thresholds): Record<EpisodeType, Check> {
  const { outbox, disk, clock } = body;
  const age = outbox.oldest_pending_age_s ?? 0;
  const diskLimit = Math.max(t.diskLowBytes, disk.floor_bytes ?? 0);
  // The device's own round-trip measurement when it has one, else what the server saw on arrival.
  const offset = clock.offset_ms ?? skewMs;
  const bootedS = body.system_uptime_s;
  const justBooted = typeof bootedS === 'number' && bootedS < CLOCK_SYNC_BOOT_GRACE_S;
  return {
    device_backlog: {
      holds: (open) => {
        const k = open ? 0.5 : 1;
        return (
          age >= t.backlogAgeSeconds * k ||
          outbox.pending_captures >= t.backlogCaptures * k ||
          outbox.quarantined > 0
        );
      },
      details: () => ({ ...outbox }),
    },
    device_disk_low: {
      // Bytes under the limit, or fewer free inodes than a capture needs (review r20 F7: the agent
      // refuses every press with bytes free); an open episode ends only at twice DISK_INODES_SHORT.
      // Unknown free space (statfs failed) neither starts nor ends an episode.
      holds: (open) => {
        const inodes = disk.free_inodes;
        if (typeof inodes === 'number' && inodes < DISK_INODES_SHORT * (open ? 2 : 1)) return true;
        return disk.free_bytes === null ? null : disk.free_bytes < diskLimit * (open ? 1.1 : 1);
      },
      details: () => ({
        free_bytes: disk.free_bytes,
        floor_bytes: disk.floor_bytes ?? null,
        limit_bytes: diskLimit,
        ...(typeof disk.free_inodes === 'number' ? { free_inodes: disk.free_inodes } : {}),
      }),
    },
    device_clock_unsynced: {
      // Not synchronised by the device's own account — unless it cannot tell (source 'unknown': no
      // timedatectl, e.g. no systemd): then the measured offset alone decides. A Pi just booted is
      // given CLOCK_SYNC_BOOT_GRACE_S for its first sync before `synced: false` alone starts an
      // episode (an open one is not ended by it); an offset past the limit starts one at once.
      holds: (open) =>
        (!clock.synced && clock.source !== 'unknown' && (open || !justBooted)) ||
        Math.abs(offset) > t.clockMaxOffsetMs * (open ? 0.5 : 1),
      details: () => ({ synced: clock.synced, source: clock.source ?? null, offset_ms: Math.round(offset) }),
    },
  };
}

/**
 * The episode state after this heartbeat, and the episodes it starts (each to be notified once).
 *
 * @example const { state, started } = evaluateEpisodes({ body, skewMs, previous, thresholds, at });
 */
export function evaluateEpisodes({
  body,
  skewMs,
  previous,
  thresholds,
  at,
}: {
  body: HeartbeatBody;
  skewMs: number;
  previous: EpisodeState;
  thresholds: Thresholds;
  at: Date;
}): { state: EpisodeState; started: StartedEpisode[] } {
  const state = { ...previous };
  const started: StartedEpisode[] = [];
  for (const [type, check] of Object.entries(checks(body, skewMs, thresholds)) as [EpisodeType, Check][]) {
    const open = previous[type] !== null;
    const holds = check.holds(open);
    if (holds === null) continue;
    if (holds && !open) {
      state[type] = at;
      started.push({ type, since: at, details: check.details() });
    } else if (!holds && open) {
      state[type] = null;
    }
  }
  return { state, started };
}
