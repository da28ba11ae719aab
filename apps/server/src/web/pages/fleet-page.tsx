import { DISK_INODES_SHORT } from '@cti/contracts';
import {
  type DeviceHealthRow,
  type DeviceRetirement,
  type DeviceRow,
  deviceReadSettings,
  type HeartbeatRefusal,
  listDeviceHealth,
  listDevices,
  REFUSALS_COUNTED,
} from '../../access/device-queries.ts';
import { listFarms } from '../../access/farm-queries.ts';
import type { DeviceHealthConfig } from '../../config.ts';
import { isClockRefusal } from '../../devices/refusal-words.ts';
import { type Column, DataTable } from '../components/data-table.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LocalTime } from '../components/local-time.tsx';
import { formatLocal } from '../time/format-local.ts';
import {
  commonZone,
  deviceZone,
  farmZones,
  type PageDeps,
  type PageRouter,
  sendPage,
  userOf,
} from './page-kit.tsx';

type Level = 'ok' | 'warn' | 'bad' | 'unknown';
/** A badge; `fix`: what to do about it, shown under the badges (`backquoted` parts are commands). */
export type Flag = { level: Level; text: string; fix?: string };
/** `zone`: the device's farm's local time zone (UTC without a farm): its times and its "today". */
type FleetRow = DeviceRow & { health: DeviceHealthRow | undefined; flags: Flag[]; zone: string };

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

/** What healthFlags reads of the device row (listDevices) besides the snapshot. */
export type DeviceTroubles = Pick<
  DeviceRow,
  'heartbeats_refused' | 'uploads_not_arriving' | 'reported' | 'last_upload_at'
> &
  Partial<Pick<DeviceRow, 'retired' | 'history_from'>>;

/** "12 refusals in the last hour" (counted up to REFUSALS_COUNTED), or when the last one was. */
function refusalCount(r: HeartbeatRefusal, when: (utc: string) => string): string {
  if (r.last_hour === 0) return `the last at ${when(r.last_at)}`;
  const n = r.last_hour >= REFUSALS_COUNTED ? `${REFUSALS_COUNTED} or more` : String(r.last_hour);
  return `${n} in the last hour`;
}

/**
 * The badges of a device, worst first, from its latest heartbeat, the open episodes the server
 * recorded (device_health.*_since) and what listDevices found beside them: heartbeats refused since
 * the last accepted one, uploads the Pi reports that never arrived here; then never heard, silent,
 * backlog, disk low, clock, probe, capture button, capture loop.
 */
export function healthFlags(
  h: DeviceHealthRow | undefined,
  config: DeviceHealthConfig,
  {
    device,
    timeZone = 'UTC',
    now = Date.now(),
  }: { device?: DeviceTroubles; timeZone?: string; now?: number } = {},
): Flag[] {
  const when = (utc: string) => formatLocal(utc, timeZone);
  // No longer watched: its old silence and episodes are no problem of anyone's (review r11 F7).
  if (device?.retired) return [{ level: 'unknown', text: `retired ${when(device.retired.at)}` }];
  const flags: Flag[] = [];
  const silent = !h || h.silent_since !== null || h.age_s > config.silentAfterSeconds;
  const refused = device?.heartbeats_refused;
  if (refused)
    flags.push({
      level: silent ? 'bad' : 'warn',
      text: `heartbeats refused since ${when(refused.since)}: ${refused.reason} (${refusalCount(refused, when)})`,
      fix: refused.fix,
    });
  if (device?.uploads_not_arriving && device.reported?.last_upload_at) {
    const arrived = device.last_upload_at;
    const captured = device.reported.captured;
    flags.push({
      level: 'bad',
      text: `uploads not arriving: the Pi reports an upload at ${when(device.reported.last_upload_at)}${captured === null || !device.reported.agent_started_at ? '' : ` (${captured} captured since its agent started at ${when(device.reported.agent_started_at)})`}; ${arrived ? `none arrived here for ${formatAge((now - Date.parse(arrived)) / 1000)} (the last at ${when(arrived)})` : 'none has ever arrived here'}`,
      fix: 'check the relay (its log, `cti-relay status`), that the bucket the Pi uploads to is in CTI_S3_BUCKETS, and that the relay signs with a secret in CTI_WEBHOOK_SECRETS',
    });
  }
  if (!h) {
    // Its snapshot is older than its move from a farm the viewer cannot read (review r11 F12).
    const since = device?.history_from;
    return [
      ...flags,
      {
        level: 'unknown',
        text: since ? `no heartbeat since it came here (${when(since)})` : 'no heartbeat yet',
      },
    ];
  }
  if (silent) flags.push({ level: 'bad', text: `silent for ${formatAge(h.age_s)}` });
  if (h.backlog_since || (h.quarantined ?? 0) > 0)
    flags.push({
      level: 'bad',
      // Counts carried from a farm the viewer cannot see are withheld (review r14 F2).
      text: h.counters_withheld
        ? 'backlog (its size is not shown: it dates from before the Pi came here from a farm you cannot see)'
        : `backlog: ${h.pending_captures} waiting${h.quarantined ? `, ${h.quarantined} quarantined` : ''}`,
    });
  const freeText = h.disk_free_bytes === null ? '?' : formatBytes(h.disk_free_bytes);
  if (outOfInodes(h))
    flags.push({
      level: 'bad',
      text: `disk out of inodes: ${h.disk_free_inodes} left (${freeText} free) — every capture is refused`,
      fix: "on the Pi, `df -i /var/lib/cti` shows it: the card is full of small files (a console export folder, runaway logs); remove those that are not the agent's — it is healthy again at its next check, no restart",
    });
  else if (h.disk_low_since) flags.push({ level: 'bad', text: `disk low: ${freeText} free` });
  // A device that cannot tell whether NTP runs (source 'unknown') is judged by its measured offset:
  // the server's clock episode says when that is past the limit.
  const ntpOff = clockSync(h) === 'off';
  if (h.clock_unsynced_since || ntpOff)
    flags.push({
      level: 'warn',
      text: `clock ${ntpOff ? 'not synchronised' : 'off'}${h.clock_offset_ms === null ? '' : ` (${(h.clock_offset_ms / 1000).toFixed(1)} s)`}`,
    });
  if (!h.probe_connected) flags.push({ level: 'warn', text: 'probe not connected' });
  const button = h.capture_button;
  if (button && !button.up) flags.push(buttonDown(button, when));
  for (const [name, line] of [
    ['LED', h.status_signals?.led],
    ['buzzer', h.status_signals?.buzzer],
  ] as const)
    if (line && !line.up) flags.push(signalDown(name, line, when));
  // The agent's health names the button or the inodes when that is what is wrong: its own badge above says it.
  const saidAbove =
    (button?.up === false && h.health_reason?.startsWith('capture button down')) ||
    (outOfInodes(h) && h.health_reason?.startsWith('disk out of inodes'));
  if (h.health_ok === false && !saidAbove)
    flags.push({ level: 'warn', text: `capture loop: ${h.health_reason ?? 'unhealthy'}` });
  flags.sort((a, b) => RANK[a.level] - RANK[b.level]);
  return flags.length ? flags : [{ level: 'ok', text: 'OK' }];
}

/**
 * The agent reports fewer free inodes than it needs to write a capture (heartbeat `disk.free_inodes`):
 * it refuses every press while `df -h` — and the free bytes — show room.
 */
export const outOfInodes = (h: Pick<DeviceHealthRow, 'disk_free_inodes'>): boolean =>
  h.disk_free_inodes != null && h.disk_free_inodes < DISK_INODES_SHORT;

/**
 * The agent cannot open its GPIO capture button and retries (heartbeat `capture_button`): presses do
 * nothing, though uploads and `cti-agent capture` go on. The agent's error names its fix after "Fix:".
 */
function buttonDown(
  button: NonNullable<DeviceHealthRow['capture_button']>,
  when: (utc: string) => string,
): Flag {
  const [why, fix] = (button.error ?? '').split(/ Fix: /, 2);
  const since = button.down_since ? ` since ${when(button.down_since)}` : '';
  return {
    level: 'bad',
    text: `capture button down${since}: ${why?.trim() || 'the agent cannot open it'} — presses capture nothing; the agent retries, and cti-agent capture still captures`,
    fix: fix?.trim() || 'run `cti-agent doctor` on the Pi: its gpio button line names the fix',
  };
}

/**
 * The agent cannot drive its status LED or buzzer line (heartbeat `status_signals`): a write failed or
 * it never opened, and the agent re-opens it. Captures go on; the technician only loses that signal.
 */
function signalDown(
  name: 'LED' | 'buzzer',
  line: NonNullable<DeviceHealthRow['capture_button']>,
  when: (utc: string) => string,
): Flag {
  const [why, fix] = (line.error ?? '').split(/ Fix: /, 2);
  const since = line.down_since ? ` since ${when(line.down_since)}` : '';
  const lost = name === 'LED' ? 'the technician sees no status light' : 'the technician hears no beeps';
  return {
    level: 'warn',
    text: `${name} down${since}: ${why?.trim() || 'the agent cannot drive it'} — ${lost}; captures go on and the agent retries`,
    fix:
      fix?.trim() ||
      `check the ${name}'s wiring and HAT, then run \`cti-agent doctor\` on the Pi: its gpio ${name.toLowerCase()} line names the fix`,
  };
}

const RANK: Record<Level, number> = { bad: 0, warn: 1, unknown: 2, ok: 3 };

/** Text whose `backquoted` parts are commands, shown as code. */
export function WithCode({ text }: { text: string }) {
  return <>{text.split('`').map((part, i) => (i % 2 ? <code>{part}</code> : part))}</>;
}

export function Badges({ flags }: { flags: readonly Flag[] }) {
  return (
    <>
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
      {flags
        .filter((f) => f.fix)
        .map((f) => (
          <p class="health-fix">
            Fix: <WithCode text={f.fix!} />
          </p>
        ))}
    </>
  );
}

/** The clock as its last accepted heartbeat said, unless heartbeats are refused for the clock since. */
export function clockRefused(d: DeviceTroubles): HeartbeatRefusal | null {
  const r = d.heartbeats_refused;
  return r && isClockRefusal(r.error_code) ? r : null;
}

/** "Retired 6 Dec 15:40 by root (command line): replaced by pi-barn-2". */
export function RetiredNote({ r, timeZone, id }: { r: DeviceRetirement; timeZone: string; id?: string }) {
  return (
    <p class="muted" id={id}>
      Retired <LocalTime utc={r.at} timeZone={timeZone} /> by {r.by}
      {r.reason ? `: ${r.reason}` : ''}. Its keys are revoked and its heartbeats refused; it is not watched
      (never silent, no notifications). Its history and scans stay.
    </p>
  );
}

/**
 * GET /fleet — the fleet the viewer may see (listDevices: last seen, last upload, captures, scans
 * today) with each device's health from its latest heartbeat: status badges,
 * backlog, disk, clock, agent version. Devices with problems first; retired devices apart, in a
 * collapsed "Retired" section under the table (review r11 F7). Each row is in its device's farm's local
 * time (issue 12; UTC without a farm): its times, and "scans today" from the farm's midnight; a row
 * whose zone is not the page's (the viewer's farms' common zone) names it (review r11 F10).
 */
export function fleetPages(app: PageRouter, deps: PageDeps) {
  const { sql, config } = deps;
  app.get('/fleet', async (c) => {
    const principal = userOf(c);
    const farms = await listFarms(sql, principal);
    const zone = commonZone(farms);
    const zones = farmZones(farms);
    const [devices, health] = await Promise.all([
      listDevices(sql, principal, { farmZones: zones, settings: deviceReadSettings(config) }),
      listDeviceHealth(sql, principal),
    ]);
    const byDevice = new Map(health.map((h) => [h.device_id, h]));
    const rows: FleetRow[] = devices
      .map((d) => {
        const h = byDevice.get(d.id);
        const own = deviceZone(d, zones);
        return {
          ...d,
          health: h,
          zone: own,
          flags: healthFlags(h, config.devices, { device: d, timeZone: own }),
        };
      })
      .sort(
        (a, b) =>
          RANK[a.flags[0]!.level] - RANK[b.flags[0]!.level] || a.device_code.localeCompare(b.device_code),
      );
    const retired = rows.filter((d) => d.retired);
    const watched = rows.filter((d) => !d.retired);
    const time = (d: FleetRow, utc: string | null | undefined) => (
      <LocalTime utc={utc ?? null} timeZone={d.zone} />
    );
    /** The row's zone when it is not the page's: " (Pacific/Auckland)". */
    const ownZone = (d: FleetRow) => d.zone !== zone && <span class="muted row-zone"> ({d.zone})</span>;
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
        cell: (d) => (
          <>
            {d.farm ? <a href={`/farms/${d.farm.id}`}>{d.farm.name}</a> : 'unassigned'}
            {ownZone(d)}
          </>
        ),
      },
      {
        header: 'Last heard',
        cell: (d) =>
          d.health ? (
            <>
              {time(d, d.health.received_at)} <span class="muted">({formatAge(d.health.age_s)} ago)</span>
            </>
          ) : (
            time(d, d.last_seen_at)
          ),
      },
      // On a tablet the row keeps what says whether a device is well; the device's page has the rest
      // (last upload, captures, clock, agent).
      {
        header: 'Last upload',
        tabletHidden: true,
        // Arrived here (ingest); the Pi's own account beside it when it has one that never arrived.
        cell: (d) => (
          <>
            {d.last_upload_at ? time(d, d.last_upload_at) : 'never'}
            {d.uploads_not_arriving && d.reported?.last_upload_at && (
              <span class="muted"> (the Pi: {time(d, d.reported.last_upload_at)})</span>
            )}
          </>
        ),
      },
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
          d.health?.counters_withheld
            ? 'not shown'
            : d.health
              ? `${d.health.pending_captures}${d.health.oldest_pending_age_s ? ` (oldest ${formatAge(d.health.oldest_pending_age_s)})` : ''}`
              : '—',
      },
      {
        header: 'Disk free',
        numeric: true,
        cell: (d) =>
          d.health?.disk_free_bytes == null
            ? '—'
            : `${formatBytes(d.health.disk_free_bytes)}${outOfInodes(d.health) ? ', no inodes' : ''}`,
      },
      {
        header: 'Clock',
        wideOnly: true,
        tabletHidden: true,
        cell: (d) =>
          clockRefused(d)
            ? 'off (heartbeats refused)'
            : d.health
              ? `${{ synced: 'synced', unknown: 'sync unknown', off: 'not synced' }[clockSync(d.health)]}${d.health.clock_offset_ms === null ? '' : `, ${d.health.clock_offset_ms} ms`}`
              : '—',
      },
      { header: 'Agent', wideOnly: true, tabletHidden: true, cell: (d) => d.health?.agent_version ?? '—' },
    ];
    return sendPage(c, deps, {
      title: 'Fleet',
      children: (
        <>
          <p class="muted" id="fleet-zone">
            Times and scans today in each device's farm's local time: {zone}, unless a row names another (a
            device without a farm: UTC). A device is silent after{' '}
            {formatAge(config.devices.silentAfterSeconds)} without a heartbeat.
          </p>
          {watched.length === 0 ? (
            <EmptyState title={retired.length ? 'No devices in service' : 'No devices yet'}>
              <p>A device appears here with its first upload or heartbeat.</p>
            </EmptyState>
          ) : (
            <DataTable
              id="fleet"
              caption="Devices, problems first"
              captionHidden
              columns={columns}
              rows={watched}
            />
          )}
          {retired.length > 0 && (
            <details id="fleet-retired">
              <summary>Retired ({retired.length}): not watched, heartbeats refused</summary>
              <ul>
                {retired.map((d) => (
                  <li>
                    <a href={`/fleet/${d.id}`}>
                      <strong>{d.device_code}</strong>
                    </a>
                    {d.label && <span class="muted"> {d.label}</span>}
                    {' — '}
                    {d.farm ? d.farm.name : 'unassigned'}
                    {ownZone(d)}; last heard {time(d, d.health?.received_at ?? d.last_seen_at)}; retired{' '}
                    {time(d, d.retired!.at)} by {d.retired!.by}
                    {d.retired!.reason ? `: ${d.retired!.reason}` : ''}
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      ),
    });
  });
}
