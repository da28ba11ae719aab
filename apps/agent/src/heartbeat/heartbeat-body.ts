import { uptime } from 'node:os';
import { HEARTBEAT_VERSION, type HeartbeatBody } from '@cti/contracts';
import type { Agent } from '../agent.ts';

type Status = ReturnType<Agent['status']>;

export type HeartbeatBodyOptions = {
  status: () => Status;
  agentVersion: string;
  /** 'name@version' of each loaded model (the hint and, when loaded beside it, its view card). */
  models: string[];
  /** ms since the epoch of the newest capture in the outbox, null when none. */
  lastCommittedAt: () => number | null;
  /** Monotonic ms (frame-rate intervals). */
  now?: () => number;
  wallClock?: () => number;
  processUptimeS?: () => number;
  systemUptimeS?: () => number;
};

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

function modelList(models: string[]) {
  return models.map((m) => {
    const at = m.lastIndexOf('@');
    return at > 0 ? { name: m.slice(0, at), version: m.slice(at + 1) } : { name: m, version: 'unknown' };
  });
}

/** The newest of the last capture failure and the last upload error. */
function lastError(status: Status): HeartbeatBody['last_error'] {
  const upload = status.outbox.lastError;
  const capture = status.last_error;
  const uploadAt = upload ? upload.at : Number.NEGATIVE_INFINITY;
  const captureAt = capture ? Date.parse(capture.at) : Number.NEGATIVE_INFINITY;
  if (upload && uploadAt >= captureAt) {
    return {
      at: new Date(upload.at).toISOString(),
      message: upload.message.slice(0, 1000),
      source: 'upload',
    };
  }
  return capture ? { at: capture.at, message: capture.message.slice(0, 1000), source: 'capture' } : null;
}

/** A GPIO line's health as the heartbeat sends it (the capture button, the LED, the buzzer). */
function lineHealth(line: { up: boolean; down_since: string | null; error: string | null } | null) {
  return line
    ? { up: line.up, down_since: line.down_since, error: line.error?.slice(0, 1000) ?? null }
    : null;
}

/**
 * Builds the heartbeat from the agent's current state each time it is called — never a queued old
 * one. Frame rate: frames received since the previous call over the time between the calls.
 */
export function createHeartbeatBody({
  status,
  agentVersion,
  models,
  lastCommittedAt,
  now = () => performance.now(),
  wallClock = Date.now,
  processUptimeS = () => process.uptime(),
  systemUptimeS = uptime,
}: HeartbeatBodyOptions) {
  let previous: { frames: number; at: number } | null = null;
  return ({ clockOffsetMs }: { clockOffsetMs: number | null }): HeartbeatBody => {
    const s = status();
    const at = now();
    const fps =
      previous && at > previous.at ? ((s.source.frames - previous.frames) * 1000) / (at - previous.at) : null;
    previous = { frames: s.source.frames, at };
    return {
      heartbeat_version: HEARTBEAT_VERSION,
      device_code: s.device_code,
      sent_at: new Date(wallClock()).toISOString(),
      agent_version: agentVersion,
      models: modelList(models),
      uptime_s: Math.floor(processUptimeS()),
      system_uptime_s: Math.floor(systemUptimeS()),
      outbox: {
        pending_captures: s.outbox.pendingCaptures,
        pending_bytes: s.outbox.pendingBytes,
        oldest_pending_age_s:
          s.outbox.oldestPendingAgeMs === null ? null : Math.floor(s.outbox.oldestPendingAgeMs / 1000),
        quarantined: s.outbox.quarantined,
        discarded: s.outbox.discarded,
      },
      last_capture_at: iso(lastCommittedAt()),
      last_upload_at: iso(s.outbox.lastSuccessAt),
      disk: {
        free_bytes: s.disk.free_bytes,
        floor_bytes: s.disk.floor_bytes,
        // The contract's bound: a file system counting more (some report 2^64 - 1) has plenty.
        free_inodes:
          s.disk.free_inodes === null ? null : Math.min(s.disk.free_inodes, Number.MAX_SAFE_INTEGER),
      },
      clock: { synced: s.clock.synced, source: s.clock.source, offset_ms: clockOffsetMs },
      probe: {
        connected: s.source.connected,
        kind: s.source.kind,
        model: s.source.identity?.model ?? null,
        frame_rate_fps: fps === null ? null : Math.max(0, Math.round(fps * 100) / 100),
      },
      health: { ok: s.health.ok, reason: s.health.reason?.slice(0, 1000) ?? null },
      last_error: lastError(s),
      ear_tag_reader: s.ear_tag_reader
        ? { connected: s.ear_tag_reader.connected, last_read_at: s.ear_tag_reader.last_read_at }
        : null,
      capture_button: lineHealth(s.capture_button),
      status_signals: s.status_signals
        ? { led: lineHealth(s.status_signals.led), buzzer: lineHealth(s.status_signals.buzzer) }
        : null,
      // Refusals (a technician scanning the wrong site all day) reach the fleet, not only this Pi's /metrics.
      captures_by_result: s.captures.by_result,
    };
  };
}
