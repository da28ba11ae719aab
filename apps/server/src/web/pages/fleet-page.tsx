import {
  type DeviceHealthRow,
  type DeviceRow,
  listDeviceHealth,
  listDevices,
} from '../../access/device-queries.ts';
import { listFarms } from '../../access/farm-queries.ts';
import type { DeviceHealthConfig } from '../../config.ts';
import { type Column, DataTable } from '../components/data-table.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LocalTime } from '../components/local-time.tsx';
import { commonZone, type PageDeps, type PageRouter, sendPage, userOf } from './page-kit.tsx';

type Level = 'ok' | 'warn' | 'bad' | 'unknown';
export type Flag = { level: Level; text: string };
type FleetRow = DeviceRow & { health: DeviceHealthRow | undefined; flags: Flag[] };

const MB = 1024 * 1024;
const GB = 1024 * MB;

/** "3 min", "2 h 5 min", "4 d 1 h": an age a person reads at a glance. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "7.5 GB", "312 MB". */
export const formatBytes = (n: number) =>
  n >= GB ? `${(n / GB).toFixed(1)} GB` : `${Math.round(n / MB)} MB`;

/** NTP state by the device's own account: 'unknown' when it cannot tell (no timedatectl, e.g. no systemd). */
export const clockSync = (
  h: Pick<DeviceHealthRow, 'clock_synced' | 'clock_source'>,
): 'synced' | 'unknown' | 'off' =>
  h.clock_synced ? 'synced' : h.clock_source === 'unknown' ? 'unknown' : 'off';

/**
 * The badges of a device, worst first, from its latest heartbeat and the open episodes the server
 * recorded (device_health.*_since): never heard, silent, backlog, disk low, clock, probe, capture loop.
 */
export function healthFlags(h: DeviceHealthRow | undefined, config: DeviceHealthConfig): Flag[] {
  if (!h) return [{ level: 'unknown', text: 'no heartbeat yet' }];
  const flags: Flag[] = [];
  if (h.silent_since || h.age_s > config.silentAfterSeconds)
    flags.push({ level: 'bad', text: `silent for ${formatAge(h.age_s)}` });
  if (h.backlog_since || h.quarantined > 0)
    flags.push({
      level: 'bad',
      text: `backlog: ${h.pending_captures} waiting${h.quarantined ? `, ${h.quarantined} quarantined` : ''}`,
    });
  if (h.disk_low_since)
    flags.push({
      level: 'bad',
      text: `disk low: ${h.disk_free_bytes === null ? '?' : formatBytes(h.disk_free_bytes)} free`,
    });
  // A device that cannot tell whether NTP runs (source 'unknown') is judged by its measured offset:
  // the server's clock episode says when that is past the limit.
  const ntpOff = clockSync(h) === 'off';
  if (h.clock_unsynced_since || ntpOff)
    flags.push({
      level: 'warn',
      text: `clock ${ntpOff ? 'not synchronised' : 'off'}${h.clock_offset_ms === null ? '' : ` (${(h.clock_offset_ms / 1000).toFixed(1)} s)`}`,
    });
  if (!h.probe_connected) flags.push({ level: 'warn', text: 'probe not connected' });
  if (h.health_ok === false)
    flags.push({ level: 'warn', text: `capture loop: ${h.health_reason ?? 'unhealthy'}` });
  return flags.length ? flags : [{ level: 'ok', text: 'OK' }];
}

export function Badges({ flags }: { flags: readonly Flag[] }) {
  return (
    <ul class="health-badges">
      {flags.map((f) => (
        <li class={`health health-${f.level}`}>
          <span class="visually-hidden">
            {f.level === 'ok' ? 'Healthy: ' : f.level === 'unknown' ? 'Unknown: ' : 'Problem: '}
          </span>
          {f.text}
        </li>
      ))}
    </ul>
  );
}

/**
 * GET /fleet — the fleet the viewer may see (listDevices: last seen, last upload, captures, scans
 * today in the viewer's time) with each device's health from its latest heartbeat: status badges,
 * backlog, disk, clock, agent version. Devices with problems first.
 */
export function fleetPages(app: PageRouter, deps: PageDeps) {
  const { sql, config } = deps;
  app.get('/fleet', async (c) => {
    const principal = userOf(c);
    const farms = await listFarms(sql, principal);
    const zone = commonZone(farms);
    const [devices, health] = await Promise.all([
      listDevices(sql, principal, { timeZone: zone }),
      listDeviceHealth(sql, principal),
    ]);
    const byDevice = new Map(health.map((h) => [h.device_id, h]));
    const rank: Record<Level, number> = { bad: 0, warn: 1, unknown: 2, ok: 3 };
    const rows: FleetRow[] = devices
      .map((d) => {
        const h = byDevice.get(d.id);
        return { ...d, health: h, flags: healthFlags(h, config.devices) };
      })
      .sort(
        (a, b) =>
          rank[a.flags[0]!.level] - rank[b.flags[0]!.level] || a.device_code.localeCompare(b.device_code),
      );
    const time = (utc: string | null | undefined) => <LocalTime utc={utc ?? null} timeZone={zone} />;
    const columns: Column<FleetRow>[] = [
      {
        header: 'Device',
        primary: true,
        cell: (d) => (
          <>
            <a href={`/fleet/${d.id}`}>
              <strong>{d.device_code}</strong>
            </a>
            {d.label && <span class="muted"> {d.label}</span>}
          </>
        ),
      },
      { header: 'Health', cell: (d) => <Badges flags={d.flags} /> },
      {
        header: 'Farm',
        cell: (d) => (d.farm ? <a href={`/farms/${d.farm.id}`}>{d.farm.name}</a> : 'unassigned'),
      },
      {
        header: 'Last heard',
        cell: (d) =>
          d.health ? (
            <>
              {time(d.health.received_at)} <span class="muted">({formatAge(d.health.age_s)} ago)</span>
            </>
          ) : (
            time(d.last_seen_at)
          ),
      },
      // On a tablet the row keeps what says whether a device is well; the device's page has the rest
      // (last upload, captures, clock, agent).
      { header: 'Last upload', tabletHidden: true, cell: (d) => time(d.last_upload_at) },
      { header: 'Captures', numeric: true, tabletHidden: true, cell: (d) => String(d.captures_count) },
      {
        header: 'Scans today',
        numeric: true,
        cell: (d) => <a href={`/scans?device_id=${d.id}`}>{String(d.scans_today)}</a>,
      },
      {
        header: 'Backlog',
        numeric: true,
        cell: (d) =>
          d.health
            ? `${d.health.pending_captures}${d.health.oldest_pending_age_s ? ` (oldest ${formatAge(d.health.oldest_pending_age_s)})` : ''}`
            : '—',
      },
      {
        header: 'Disk free',
        numeric: true,
        cell: (d) => (d.health?.disk_free_bytes == null ? '—' : formatBytes(d.health.disk_free_bytes)),
      },
      {
        header: 'Clock',
        wideOnly: true,
        tabletHidden: true,
        cell: (d) =>
          d.health
            ? `${{ synced: 'synced', unknown: 'sync unknown', off: 'not synced' }[clockSync(d.health)]}${d.health.clock_offset_ms === null ? '' : `, ${d.health.clock_offset_ms} ms`}`
            : '—',
      },
      { header: 'Agent', wideOnly: true, tabletHidden: true, cell: (d) => d.health?.agent_version ?? '—' },
    ];
    return sendPage(c, deps, {
      title: 'Fleet',
      children: (
        <>
          <p class="muted">
            Times in {zone}. A device is silent after {formatAge(config.devices.silentAfterSeconds)} without a
            heartbeat.
          </p>
          {rows.length === 0 ? (
            <EmptyState title="No devices yet">
              <p>A device appears here with its first upload or heartbeat.</p>
            </EmptyState>
          ) : (
            <DataTable
              id="fleet"
              caption="Devices, problems first"
              captionHidden
              columns={columns}
              rows={rows}
            />
          )}
        </>
      ),
    });
  });
}
