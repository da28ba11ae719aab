import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { Gauge, type Registry } from 'prom-client';

type Row = {
  device_code: string;
  agent_version: string;
  age_s: number;
  uptime_s: string;
  pending_captures: number;
  pending_bytes: string;
  oldest_pending_age_s: number | null;
  quarantined: number;
  disk_free_bytes: string | null;
  disk_free_inodes: number | null;
  clock_synced: boolean;
  offset_ms: number;
  probe_connected: boolean;
  frame_rate_fps: number | null;
};

const bool = (b: boolean) => (b ? 1 : 0);
const num = (v: string | number | null) => (v === null ? null : Number(v));

/** name, help, value of one device's row (null: no sample for that device). */
const SERIES: [string, string, (r: Row, silentAfterS: number) => number | null][] = [
  ['cti_device_last_heartbeat_age_seconds', 'Seconds since the last accepted heartbeat', (r) => r.age_s],
  [
    'cti_device_silent',
    '1 when the device has not been heard for CTI_DEVICE_SILENT_AFTER_S',
    (r, s) => bool(r.age_s >= s),
  ],
  ['cti_device_uptime_seconds', 'Agent uptime at the last heartbeat', (r) => num(r.uptime_s)],
  ['cti_device_outbox_pending_captures', 'Captures waiting for upload', (r) => r.pending_captures],
  ['cti_device_outbox_pending_bytes', 'Bytes waiting for upload', (r) => num(r.pending_bytes)],
  [
    'cti_device_outbox_oldest_pending_age_seconds',
    'Age of the oldest capture waiting for upload',
    (r) => r.oldest_pending_age_s ?? 0,
  ],
  ['cti_device_outbox_quarantined_captures', 'Captures the uploader gave up on', (r) => r.quarantined],
  ['cti_device_disk_free_bytes', 'Free space on the data disk', (r) => num(r.disk_free_bytes)],
  [
    'cti_device_disk_free_inodes',
    'Free inodes on the data disk (no sample where its file system does not count them; under 64 the agent refuses captures)',
    (r) => r.disk_free_inodes,
  ],
  ['cti_device_clock_synced', '1 when the device clock is NTP-synchronised', (r) => bool(r.clock_synced)],
  ['cti_device_clock_offset_seconds', 'Device clock minus server clock', (r) => r.offset_ms / 1000],
  ['cti_device_probe_connected', '1 when the probe is connected', (r) => bool(r.probe_connected)],
  [
    'cti_device_frame_rate_fps',
    'Probe frames per second since the previous heartbeat',
    (r) => r.frame_rate_fps,
  ],
];

/**
 * Per-device gauges on `/metrics`, read from device_health when scraped (one query per scrape, shared
 * by all series), so every replica reports the whole fleet whichever replica received a heartbeat.
 * A scrape during a database outage reports no device series rather than failing. Retired devices
 * (`cti-server device retire`) have no series.
 */
export function registerDeviceGauges({
  registry,
  sql,
  silentAfterSeconds,
  log,
}: {
  registry: Registry;
  sql: Sql;
  silentAfterSeconds: number;
  log: Logger;
}): void {
  let pending: { at: number; rows: Promise<Row[]> } | null = null;
  const rows = () => {
    if (!pending || Date.now() - pending.at > 1000) {
      pending = { at: Date.now(), rows: query(sql, log) };
    }
    return pending.rows;
  };
  for (const [name, help, value] of SERIES) {
    new Gauge({
      name,
      help,
      labelNames: ['device'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await rows()) {
          const v = value(r, silentAfterSeconds);
          if (v !== null && Number.isFinite(v)) this.set({ device: r.device_code }, v);
        }
      },
    });
  }
  new Gauge({
    name: 'cti_device_info',
    help: 'Always 1; the agent version each device runs',
    labelNames: ['device', 'agent_version'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await rows()) this.set({ device: r.device_code, agent_version: r.agent_version }, 1);
    },
  });
}

async function query(sql: Sql, log: Logger): Promise<Row[]> {
  try {
    return await sql<Row[]>`
      SELECT d.device_code, h.agent_version, EXTRACT(EPOCH FROM now() - h.received_at)::float8 AS age_s,
        h.uptime_s, h.pending_captures, h.pending_bytes, h.oldest_pending_age_s, h.quarantined,
        h.disk_free_bytes,
        CASE WHEN jsonb_typeof(h.body->'disk'->'free_inodes') = 'number'
             THEN (h.body->'disk'->>'free_inodes')::float8 END AS disk_free_inodes,
        h.clock_synced, COALESCE(h.clock_offset_ms, h.clock_skew_ms) AS offset_ms,
        h.probe_connected, h.frame_rate_fps
      FROM device_health h JOIN devices d ON d.id = h.device_id
      -- A retired device is no longer watched: no series, so no alert rule fires on it for ever.
      WHERE d.retired_at IS NULL`;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'device gauges unavailable for this scrape');
    return [];
  }
}
