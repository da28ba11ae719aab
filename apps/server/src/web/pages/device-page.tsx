import { DISK_INODES_SHORT, PIXEL_ASPECT_RANGE } from '@cti/contracts';
import type { TransactionSql } from 'postgres';
import {
  countDeviceScansSince,
  type DeviceHealthRow,
  type DeviceRow,
  deviceReadSettings,
  hiddenStays,
  type LineHealth,
  listDeviceHealth,
  listDevices,
  updateDevice,
} from '../../access/device-queries.ts';
import { listFarms } from '../../access/farm-queries.ts';
import {
  CALIBRATION_BODY,
  type CalibrationBody,
  calibrationInput,
  DEVICE_PATCH_BODY,
  DEVICE_RETIRE_BODY,
  setCalibration,
  setDeviceRetired,
} from '../../api/devices.ts';
import { invalidRequest } from '../../api/request-validation.ts';
import { isAdmin } from '../../auth/principal.ts';
import { forbidden } from '../../auth/session-middleware.ts';
import type { DeviceHealthConfig } from '../../config.ts';
import { deviceHealthTrend, type HealthHour } from '../../devices/health-trend.ts';
import {
  type CalibrationRow,
  listCalibrations,
  MAX_CALIBRATION_REGRADE_JOBS,
  MAX_NOTE_LENGTH,
  MAX_SPACING_MM,
  MIN_SPACING_MM,
  type RecordedCalibration,
  recordCalibration,
} from '../../grading/device-calibration.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { plural } from '../charts/summary.ts';
import { TimeSeriesChart } from '../charts/time-series.tsx';
import { ActionForm, Button } from '../components/button.tsx';
import { type Column, DataTable } from '../components/data-table.tsx';
import { CheckboxField, ErrorSummary, TextField } from '../components/form-field.tsx';
import { LocalTime } from '../components/local-time.tsx';
import { FALLBACK_TIME_ZONE } from '../time/farm-time-zone.ts';
import { formatLocal } from '../time/format-local.ts';
import { CREATE_TOKEN_FIELD, createOnce, createTokenOf, newCreateToken } from './create-token.ts';
import { RETIRE_LABELS, type RetireForm, RetireSection } from './device-retire-form.tsx';
import {
  DEVICE_SETTINGS_LABELS,
  type DeviceSettingsForm,
  DeviceSettingsSection,
  deviceSettingsBody,
  deviceSettingsValues,
} from './device-settings.tsx';
import {
  Badges,
  clockRefused,
  clockSync,
  formatAge,
  formatBytes,
  healthFlags,
  outOfInodes,
  RetiredNote,
} from './fleet-page.tsx';
import {
  attempt,
  deviceZone,
  Facts,
  type FieldErrors,
  farmZones,
  idParam,
  optionalText,
  type PageContext,
  type PageDeps,
  type PageRouter,
  pageNotFound,
  readForm,
  redirectDone,
  sendPage,
  textOf,
  userOf,
  validated,
} from './page-kit.tsx';

type CalibrationValues = {
  pixel_spacing_mm?: string;
  pixel_aspect?: string;
  image_width?: string;
  image_height?: string;
  valid_from?: string;
  note?: string;
  /** The checkbox "Regrade this device's scans from …": 'on' when ticked. */
  regrade?: string;
};
type CalibrationForm = { values: CalibrationValues; errors: FieldErrors };
/** A form shown again with its errors. */
type Forms = { calibration?: CalibrationForm; settings?: DeviceSettingsForm; retire?: RetireForm };

const CALIBRATION_LABELS = {
  pixel_spacing_mm: 'Pixel spacing',
  pixel_aspect: 'Pixel aspect',
  image_width: 'Image width',
  image_height: 'Image height',
  valid_from: 'Valid from',
  note: 'Note',
  regrade: 'Regrade',
};

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A form field as the API body's number: empty → left out, a number → the number, else the text (the schema names it). */
const numberOf = (text: string | undefined): number | string | undefined => {
  const t = (text ?? '').trim();
  if (t === '') return undefined;
  return NUMBER_RE.test(t) ? Number(t) : t;
};

/**
 * The set form as the body of POST /api/v1/devices/{id}/calibrations (checked with the same schema): an
 * empty spacing is left out (an aspect-only row; with no aspect either, calibrationInput names both fields).
 */
function calibrationBody(values: CalibrationValues): CalibrationBody {
  const body: Record<string, unknown> = {};
  const mm = numberOf(values.pixel_spacing_mm);
  if (mm !== undefined) body.pixel_spacing_mm = mm;
  const aspect = numberOf(values.pixel_aspect);
  if (aspect !== undefined) body.pixel_aspect = aspect;
  const width = numberOf(values.image_width);
  const height = numberOf(values.image_height);
  if (width !== undefined) body.image_width = width;
  if (height !== undefined) body.image_height = height;
  const from = (values.valid_from ?? '').trim();
  // A date alone is midnight UTC, as for `cti-server calibration --valid-from 2025-09-01`.
  if (from && !/^\d{4}-\d{2}-\d{2}$/.test(from))
    throw invalidRequest([{ pointer: '/valid_from', message: 'must be a date such as 2025-09-01' }]);
  if (from) body.valid_from = `${from}T00:00:00Z`;
  if (values.note?.trim()) body.note = values.note.trim();
  if (values.regrade) body.regrade = true;
  return body as CalibrationBody;
}

/** The trend chart's default span in days (`?days=N` up to CTI_DEVICE_HISTORY_DAYS picks another). */
const TREND_DAYS = 7;
/** The spans offered beside the chart, those within the kept history. */
const TREND_CHOICES = [1, 7, 14, 30, 90];

/** `?days=` of the device page: a whole number of days within the kept history (422 naming it otherwise). */
export function trendDays(raw: string | undefined, historyDays: number): number {
  if (raw === undefined || raw === '') return Math.min(TREND_DAYS, historyDays);
  const days = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(days >= 1 && days <= historyDays))
    throw invalidRequest([
      {
        pointer: '/query/days',
        message: `must be a whole number of days from 1 to ${historyDays} (the heartbeat history kept)`,
      },
    ]);
  return days;
}

const clockText = (h: DeviceHealthRow) =>
  `${{ synced: 'synchronised', unknown: 'synchronisation unknown', off: 'not synchronised' }[clockSync(h)]}${h.clock_source && h.clock_source !== 'unknown' ? ` (${h.clock_source})` : ''}${h.clock_offset_ms === null ? '' : `, offset ${h.clock_offset_ms} ms`}`;

/** The models in words; a hint without its view card runs no view gate, so wrong views are captured. */
function modelsText(h: DeviceHealthRow): string {
  if (h.models.length === 0) return 'none reported';
  const names = h.models.map((m) => `${m.name}@${m.version}`).join(', ');
  const hint = h.models.some((m) => m.name === 'ribeye-hint');
  const view = h.models.some((m) => m.name === 'ribeye-view');
  return hint && !view ? `${names} — no view card: wrong views are not refused` : names;
}

/**
 * A GPIO line the agent retries while it is down (the capture button, the LED, the buzzer): '—' not
 * configured or not reported, 'up', or down with the agent's reason (its fix included) and since when.
 */
function lineCell(line: LineHealth | null, unknownWhy: string, time: (utc: string | null) => unknown) {
  if (line === null) return '—';
  if (line.up) return 'up';
  return (
    <>
      down: {line.error ?? unknownWhy} <span class="muted">since {time(line.down_since)}</span>
    </>
  );
}

/** What replaces counters that cover a stay on a farm the viewer cannot read (review r14 F2). */
const WITHHELD = 'not shown: its agent has run since before it came here from a farm you cannot see';

/** Capture attempts since the agent started: captured, refused by reason, errors, queue-full presses. */
function capturesText(h: DeviceHealthRow): string {
  if (h.counters_withheld) return WITHHELD;
  const counts = h.captures_by_result;
  if (!counts) return 'not reported';
  const { captured = 0, error = 0, busy = 0, ...refusals } = counts;
  const reasons = Object.entries(refusals)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const refused = reasons.reduce((sum, [, n]) => sum + n, 0);
  return [
    `${captured} captured`,
    `${refused} refused${reasons.length ? ` (${reasons.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`,
    ...(error ? [`${error} failed`] : []),
    ...(busy ? [`${busy} refused as the queue was full`] : []),
  ].join(', ');
}

/** Free inodes beside free disk: a card full of small files refuses captures with bytes free. */
function inodesText(h: DeviceHealthRow): string {
  if (h.disk_free_inodes === null) return 'free inodes not reported';
  const n = h.disk_free_inodes.toLocaleString('en-US');
  return outOfInodes(h)
    ? `${n} free inodes — out of inodes: captures are refused below ${DISK_INODES_SHORT}`
    : `${n} free inodes`;
}

/** What the chart says to a screen reader: the extremes and the silent hours, not 168 points. */
function describeTrend(hours: readonly HealthHour[]): string {
  const heard = hours.filter((h) => h.heartbeats > 0);
  const silent = hours.length - heard.length;
  const last = heard.at(-1);
  const backlog = Math.max(...heard.map((h) => h.pending_captures ?? 0));
  const disks = heard.map((h) => h.disk_free_bytes).filter((v): v is number => v !== null);
  return [
    `Hourly, ${plural(hours.length, 'hour')}.`,
    `Outbox backlog: at most ${plural(backlog, 'capture')} waiting${last ? `, ${last.pending_captures ?? 0} in the last hour heard` : ''}.`,
    disks.length ? `Disk free: least ${formatBytes(Math.min(...disks))}.` : 'Disk free: not reported.',
    silent ? `${plural(silent, 'hour')} without a heartbeat.` : 'Heard every hour.',
  ].join(' ');
}

/** The device's latest heartbeat and its last days by the hour (fleet health, in detail). */
function HealthSection({
  deviceId,
  device,
  health,
  hours,
  days,
  config,
  zone,
  time,
}: {
  deviceId: string;
  device: DeviceRow;
  health: DeviceHealthRow | undefined;
  hours: readonly HealthHour[];
  days: number;
  config: DeviceHealthConfig;
  zone: string;
  time: (utc: string | null) => unknown;
}) {
  const GB = 1024 ** 3;
  const refused = device.heartbeats_refused;
  const clockOff = clockRefused(device);
  return (
    <section aria-labelledby="health-title" id="device-health">
      <h2 id="health-title">Health</h2>
      {(health || refused || device.retired) && (
        <Badges flags={healthFlags(health, config, { device, timeZone: zone })} />
      )}
      {device.retired && <RetiredNote r={device.retired} timeZone={zone} id="device-retired" />}
      {refused && (
        <p id="heartbeat-refusals">
          Heartbeats naming this device have been refused since {time(refused.since)}, the last at{' '}
          {time(refused.last_at)}: {refused.http_status} <code>{refused.error_code}</code> — {refused.reason}{' '}
          (the fix is under the badges).
          {health && ' Until one is accepted, the figures below are those of the last accepted heartbeat.'}
        </p>
      )}
      {!health ? (
        <p id="health-none">
          {device.history_from ? (
            <>No heartbeat since it came here ({time(device.history_from)}).</>
          ) : (
            <>
              No heartbeat yet: the agent sends one when <code>heartbeat.server_url</code> is set and the
              device's key (<code>cti-server device add</code>) is installed on the Pi.
            </>
          )}
        </p>
      ) : (
        <Facts
          items={[
            [
              'Last heartbeat',
              <>
                {time(health.received_at)} <span class="muted">({formatAge(health.age_s)} ago)</span>
              </>,
            ],
            [
              'Agent',
              `${health.agent_version}, ${health.uptime_s === null ? `uptime ${WITHHELD}` : `up ${formatAge(health.uptime_s)}`}`,
            ],
            ['Models', modelsText(health)],
            ['Captures since the agent started', capturesText(health)],
            [
              'Probe',
              health.probe_connected
                ? `${health.probe_model ?? 'connected'}${health.frame_rate_fps === null ? '' : `, ${health.frame_rate_fps.toFixed(1)} frames/s`}`
                : 'not connected',
            ],
            [
              'Outbox',
              health.counters_withheld
                ? WITHHELD
                : `${health.pending_captures} waiting (${formatBytes(health.pending_bytes ?? 0)})${health.oldest_pending_age_s ? `, oldest ${formatAge(health.oldest_pending_age_s)}` : ''}${health.quarantined ? `, ${health.quarantined} quarantined` : ''}${health.discarded ? `, ${health.discarded} given up on the device (never uploaded)` : ''}`,
            ],
            [
              'Disk free',
              `${
                health.disk_free_bytes === null
                  ? 'not reported'
                  : `${formatBytes(health.disk_free_bytes)}${health.disk_floor_bytes ? ` (captures stop below ${formatBytes(health.disk_floor_bytes)})` : ''}`
              }; ${inodesText(health)}`,
            ],
            [
              'Clock',
              clockOff ? (
                <>
                  {clockOff.reason} (heartbeats refused since {time(clockOff.since)}){' '}
                  <span class="muted">— last accepted heartbeat: {clockText(health)}</span>
                </>
              ) : (
                clockText(health)
              ),
            ],
            ['Capture button', lineCell(health.capture_button, 'the agent cannot open it', time)],
            ['Status LED', lineCell(health.status_signals?.led ?? null, 'the agent cannot drive it', time)],
            ['Buzzer', lineCell(health.status_signals?.buzzer ?? null, 'the agent cannot drive it', time)],
            [
              'Capture loop',
              health.health_ok === null
                ? '—'
                : health.health_ok
                  ? 'healthy'
                  : (health.health_reason ?? 'unhealthy'),
            ],
            [
              'Last error',
              health.last_error ? (
                <>
                  {health.last_error} <span class="muted">{time(health.last_error_at)}</span>
                </>
              ) : (
                'none'
              ),
            ],
          ]}
        />
      )}
      {hours.length > 0 && (
        <p class="trend-spans">
          Show:{' '}
          {[...new Set([...TREND_CHOICES.filter((d) => d <= config.historyDays), days])]
            .sort((a, b) => a - b)
            .map((d, i) => (
              <>
                {i > 0 && ' · '}
                {d === days ? (
                  <strong aria-current="true">{plural(d, 'day')}</strong>
                ) : (
                  <a href={`/fleet/${deviceId}?days=${d}#device-health`}>{plural(d, 'day')}</a>
                )}
              </>
            ))}
        </p>
      )}
      {hours.length > 0 && (
        <TimeSeriesChart
          id="device-trend"
          title={`The last ${plural(days, 'day')} by the hour`}
          timeZone={zone}
          description={describeTrend(hours)}
          series={[
            {
              quantity: 'Outbox backlog',
              unit: 'captures',
              unitOne: 'capture',
              points: hours.map((h) => ({
                t: h.t,
                value: h.heartbeats ? h.pending_captures : null,
                missingReason: 'no heartbeat',
              })),
            },
            {
              quantity: 'Disk free',
              unit: 'GB',
              points: hours.map((h) => ({
                t: h.t,
                value:
                  h.heartbeats && h.disk_free_bytes !== null
                    ? Math.round((h.disk_free_bytes / GB) * 10) / 10
                    : null,
                missingReason: h.heartbeats ? 'not reported' : 'no heartbeat',
              })),
            },
          ]}
        />
      )}
    </section>
  );
}

/**
 * GET /fleet/{id} — one device (whoever may see it: the same rule as the fleet): its health (the latest
 * heartbeat, the last days by the hour) and its pixel-spacing calibrations; admins set or clear the calibration here (POST /fleet/{id}/calibration, …/clear), the
 * same rules and rows as `cti-server calibration` and POST /api/v1/devices/{id}/calibrations; admins and
 * the technicians who may edit the device (editableDevice) set its label and farm (POST /fleet/{id}:
 * PATCH /api/v1/devices/{id}'s schema and updateDevice).
 */
export function devicePages(app: PageRouter, deps: PageDeps) {
  const { sql } = deps;

  async function renderDevice(c: PageContext, id: string, forms: Forms = {}, status: 200 | 409 | 422 = 200) {
    const form = forms.calibration ?? { values: {}, errors: {} };
    const principal = userOf(c);
    const farms = await listFarms(sql, principal);
    const zones = farmZones(farms);
    const [device] = await listDevices(sql, principal, {
      id,
      farmZones: zones,
      settings: deviceReadSettings(deps.config),
    });
    if (!device) throw pageNotFound();
    // Its farm's local time, whoever looks (issue 12; an admin's farms span zones: review r11 F10).
    const zone = deviceZone(device, zones);
    // UTC also stands in for a farm without a location: say which (review r14 F10).
    const located = farms.some((f) => f.id === device.farm?.id && f.centroid !== null);
    const days = trendDays(c.req.query('days'), deps.config.devices.historyDays);
    const started = device.reported?.agent_started_at;
    const [calibrations, [health], hours, arrivedSinceStart] = await Promise.all([
      listCalibrations(sql, device.id),
      listDeviceHealth(sql, principal, { id: device.id }),
      deviceHealthTrend(sql, device.id, days, {
        hidden: hiddenStays(sql, principal, sql`${device.id}::uuid`),
      }),
      started ? countDeviceScansSince(sql, principal, device.id, started) : null,
    ]);
    const time = (utc: string | null) => <LocalTime utc={utc} timeZone={zone} />;
    const columns: Column<CalibrationRow>[] = [
      {
        header: 'Pixel spacing',
        primary: true,
        cell: (r) =>
          r.pixel_spacing_mm !== null
            ? `${r.pixel_spacing_mm} mm/px`
            : r.pixel_aspect === null
              ? 'withdrawn (cleared)'
              : 'from meta.json or the ruler',
      },
      {
        header: 'Pixel aspect',
        cell: (r) =>
          r.pixel_aspect !== null ? `${r.pixel_aspect}` : r.pixel_spacing_mm === null ? '' : 'square',
      },
      {
        header: 'Images',
        cell: (r) => (r.image_width === null ? 'any size' : `${r.image_width}×${r.image_height}`),
      },
      { header: 'Valid from', cell: (r) => time(r.valid_from) },
      { header: 'In effect', cell: (r) => (r.in_effect ? 'yes' : 'no') },
      { header: 'Note', cell: (r) => r.note ?? '' },
      {
        header: 'Set by',
        cell: (r) => (
          <>
            {r.created_by?.email ?? 'command line'} <span class="muted">{time(r.created_at)}</span>
          </>
        ),
      },
    ];
    const admin = isAdmin(principal);
    // After "Set calibration" with the regrade ticked: how many jobs it queued (digits only, shown as a number).
    const queued = c.req.query('done') === 'calibration-set-regraded' ? c.req.query('queued') : undefined;
    const kept = Number(/^\d{1,9}$/.test(c.req.query('kept') ?? '') ? c.req.query('kept') : 0);
    const keptText =
      kept > 0
        ? ` ${kept} scan${kept === 1 ? '' : 's'} corrected by hand ${kept === 1 ? 'was' : 'were'} left as ${kept === 1 ? 'it is' : 'they are'} (the model would replace the correction; ${kept === 1 ? 'its' : 'their'} figures keep the spacing of the correction — correct again to use the new one).`
        : '';
    const flash = [...movedLateFlash(c), ...regradeFlash(queued, keptText)];
    return sendPage(
      c,
      deps,
      {
        title: `Device ${device.device_code}`,
        flash,
        children: (
          <>
            <Facts
              items={[
                ['Label', device.label ?? '—'],
                [
                  'Farm',
                  device.farm ? <a href={`/farms/${device.farm.id}`}>{device.farm.name}</a> : 'unassigned',
                ],
                ['Last seen', time(device.last_seen_at)],
                [
                  'Last upload',
                  <>
                    arrived here {device.last_upload_at ? time(device.last_upload_at) : 'never'}
                    {device.reported && (
                      <>
                        ; the Pi reports{' '}
                        {device.reported.last_upload_at ? time(device.reported.last_upload_at) : 'none'}{' '}
                        <span class="muted">(its clock)</span>
                      </>
                    )}
                  </>,
                ],
                [
                  'Captures',
                  `${device.captures_count} arrived here${
                    device.reported?.captured != null &&
                    device.reported.agent_started_at &&
                    arrivedSinceStart !== null
                      ? `; the Pi reports ${device.reported.captured} captured since its agent started at ${formatLocal(device.reported.agent_started_at, zone)}, and ${arrivedSinceStart} captured since then arrived here`
                      : device.reported?.withheld
                        ? "; the Pi's own counts include its time on a farm you cannot see: not shown"
                        : ''
                  }`,
                ],
              ]}
            />
            <p class="muted" id="device-zone">
              {!device.farm
                ? 'Times in UTC: the device has no farm.'
                : located
                  ? `Times in ${zone}, the local time of ${device.farm.name}.`
                  : `Times in UTC: ${device.farm.name} has no location yet (set its geofence).`}
            </p>
            {device.history_from && (
              <p class="muted" id="device-history-from">
                It came here on {time(device.history_from)} from a farm you cannot see: its heartbeats, health
                and last seen from its time on farms you cannot see are not shown, and its captures and last
                upload are those of the scans you may see.
              </p>
            )}
            <p>
              <a href={`/scans?device_id=${device.id}`}>Scans of this device →</a>{' '}
              <a href="/fleet">Fleet →</a>
            </p>
            {device.can_edit && (
              <DeviceSettingsSection
                deviceId={device.id}
                current={device}
                farms={admin ? farms : farms.filter((f) => f.can_edit || f.id === device.farm?.id)}
                csrf={principal.csrfToken}
                form={forms.settings}
              />
            )}
            <HealthSection
              deviceId={device.id}
              device={device}
              health={health}
              hours={hours}
              days={days}
              config={deps.config.devices}
              zone={zone}
              time={time}
            />
            <section aria-labelledby="calibration-title">
              <h2 id="calibration-title">Pixel-spacing calibration</h2>
              <p class="muted">
                Grading takes pixel spacing from the device's meta.json first, then from this calibration,
                then from the scanner's on-screen depth ruler; the pixel aspect from meta.json, then from this
                calibration, else square. A row may set the aspect only: the spacing then comes from meta.json
                or the ruler. Rows are history: setting or clearing adds one. Times in {zone}.
              </p>
              {calibrations.length === 0 ? (
                <p id="calibration-none">No calibration: grading uses meta.json or the on-screen ruler.</p>
              ) : (
                <DataTable
                  id="calibrations"
                  caption="Calibrations, newest first"
                  columns={columns}
                  rows={calibrations}
                />
              )}
            </section>
            {admin && (
              <section aria-labelledby="calibration-form-title">
                <h2 id="calibration-form-title">Set the calibration</h2>
                <p class="muted">
                  Scans already graded keep their result unless you tick “Regrade” below (up to{' '}
                  {MAX_CALIBRATION_REGRADE_JOBS.toLocaleString('en')} scans; more with{' '}
                  <code>cti-server regrade --device {device.device_code} --since …</code>).
                </p>
                <form method="post" action={`/fleet/${device.id}/calibration`} novalidate>
                  <input type="hidden" name="_csrf" value={principal.csrfToken} />
                  <input type="hidden" name={CREATE_TOKEN_FIELD} value={newCreateToken()} />
                  <ErrorSummary errors={form.errors} />
                  <TextField
                    name="pixel_spacing_mm"
                    label="Pixel spacing"
                    inputmode="decimal"
                    value={form.values.pixel_spacing_mm}
                    error={form.errors.pixel_spacing_mm}
                    hint={`Millimetres per pixel along the depth (vertical) axis, more than 0 and at most ${MAX_SPACING_MM} (at least ${MIN_SPACING_MM}; stored to 5 decimals), e.g. 0.29586. Leave empty with a pixel aspect below to take the spacing from meta.json or the on-screen ruler (a scanner whose depth changes from animal to animal).`}
                  />
                  <TextField
                    name="pixel_aspect"
                    label="Pixel aspect"
                    inputmode="decimal"
                    value={form.values.pixel_aspect}
                    error={form.errors.pixel_aspect}
                    hint={`A pixel's width ÷ its height, ${PIXEL_ASPECT_RANGE[0]} to ${PIXEL_ASPECT_RANGE[1]}: 0.889 for a 4:3 picture captured at 720×480 (frame grabber), 1.067 at 720×576. Leave empty for square pixels (unless meta.json states one). The depth ruler cannot see it; every area is multiplied by it.`}
                  />
                  <TextField
                    name="image_width"
                    label="Image width"
                    inputmode="numeric"
                    value={form.values.image_width}
                    error={form.errors.image_width}
                    hint="Pixels. With the height: only images of this size; leave both empty for any size."
                  />
                  <TextField
                    name="image_height"
                    label="Image height"
                    inputmode="numeric"
                    value={form.values.image_height}
                    error={form.errors.image_height}
                  />
                  <TextField
                    name="valid_from"
                    label="Valid from"
                    type="date"
                    value={form.values.valid_from}
                    error={form.errors.valid_from}
                    hint="A date (midnight UTC); empty for now."
                  />
                  <TextField
                    name="note"
                    label="Note"
                    maxlength={MAX_NOTE_LENGTH}
                    value={form.values.note}
                    error={form.errors.note}
                    hint="e.g. probe and depth: LV5-2, 20 cm."
                  />
                  <CheckboxField
                    name="regrade"
                    label="Regrade this device's scans from “Valid from”"
                    checked={form.values.regrade === 'on'}
                    error={form.errors.regrade}
                    hint={`Queues, with the calibration, a regrade of each scan it applies to: captured on or after the date (or from now), until a newer calibration takes over; every image size, as sizes are not stored. Nothing is saved if that is more than ${MAX_CALIBRATION_REGRADE_JOBS.toLocaleString('en')} scans.`}
                  />
                  <Button>Set calibration</Button>
                </form>
                <h2 id="calibration-clear-title">Clear the calibration</h2>
                <p class="muted">
                  From now on, grading of this device's scans skips the calibration, spacing and aspect
                  (meta.json or the ruler; square pixels unless meta.json declares an aspect).
                </p>
                <ActionForm
                  action={`/fleet/${device.id}/calibration/clear`}
                  csrfToken={principal.csrfToken}
                  variant="danger"
                >
                  Clear calibration
                </ActionForm>
              </section>
            )}
            {admin && <RetireSection device={device} csrfToken={principal.csrfToken} form={forms.retire} />}
          </>
        ),
      },
      status,
    );
  }

  /** The device, if the principal may see it (404 page otherwise), then admins only (403). */
  async function adminDevice(c: PageContext, id: string, what = 'set a device calibration') {
    const principal = userOf(c);
    const [device] = await listDevices(sql, principal, { id });
    if (!device) throw pageNotFound();
    if (!isAdmin(principal)) throw forbidden(`only admins ${what}`);
    return device;
  }

  app.get('/fleet/:id', (c) => renderDevice(c, idParam(c)));

  app.post('/fleet/:id', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    const principal = userOf(c);
    const [device] = await listDevices(sql, principal, { id });
    if (!device) throw pageNotFound();
    if (!device.can_edit) throw forbidden("you may not change this device's label and farm");
    const deviceId = device.id;
    const values = deviceSettingsValues(form);
    // "Moved on" is the new farm's local time (UTC for no farm or one without a location).
    const zone =
      farmZones(await listFarms(sql, principal)).get(canonicalUuid(values.farm_id) ?? '') ??
      FALLBACK_TIME_ZONE;
    const done = await attempt(async () => {
      const body = validated(DEVICE_PATCH_BODY, deviceSettingsBody(values, zone));
      const refile = await updateDevice(sql, principal, deviceId, body);
      if (!refile) throw pageNotFound();
      return body.moved_at === undefined ? undefined : refile;
    }, DEVICE_SETTINGS_LABELS);
    if (!done.ok) return renderDevice(c, id, { settings: { values, errors: done.errors } }, done.status);
    if (!done.value) return redirectDone(c, `/fleet/${deviceId}`, 'device-saved');
    // A dated move: what it found on the old farm and moved (digits only, shown as numbers).
    const { candidates, refiled, unsynced, claim } = done.value;
    return redirectDone(
      c,
      `/fleet/${deviceId}?candidates=${candidates}&refiled=${refiled}${unsynced > 0 ? `&unsynced=${unsynced}` : ''}${claim ? '&claim=1' : ''}`,
      'device-moved-late',
    );
  });

  app.post('/fleet/:id/calibration', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    const device = await adminDevice(c, id);
    const deviceId = device.id;
    const values: CalibrationValues = {
      pixel_spacing_mm: textOf(form, 'pixel_spacing_mm'),
      pixel_aspect: textOf(form, 'pixel_aspect'),
      image_width: textOf(form, 'image_width'),
      image_height: textOf(form, 'image_height'),
      valid_from: textOf(form, 'valid_from'),
      note: optionalText(form, 'note') ?? '',
      regrade: textOf(form, 'regrade') === 'on' ? 'on' : '',
    };
    const done = await attempt(async () => {
      const body = validated(CALIBRATION_BODY, calibrationBody(values));
      const input = calibrationInput(body);
      const userId = userOf(c).userId;
      const claim = {
        form: 'calibration',
        userId,
        token: createTokenOf(form),
        // The same form re-sent to another device's address made nothing there.
        landsOn: async (tx: TransactionSql, made: string) =>
          (await tx`SELECT 1 FROM device_calibrations WHERE id = ${made} AND device_id = ${deviceId}`)
            .length > 0,
      } as const;
      return setCalibration(sql, device, input, userId, body.regrade === true, async (work) => {
        let made: RecordedCalibration | undefined;
        await createOnce(sql, claim, async (tx) => {
          made = await work(tx);
          return made.id;
        });
        // undefined: the same form was sent before and its calibration stands (the first answer
        // carried the regrade count; this one says "set").
        return made;
      });
    }, CALIBRATION_LABELS);
    if (!done.ok) return renderDevice(c, id, { calibration: { values, errors: done.errors } }, done.status);
    if (!done.value?.regrade) return redirectDone(c, `/fleet/${deviceId}`, 'calibration-set');
    return redirectDone(
      c,
      `/fleet/${deviceId}?queued=${done.value.regrade.enqueued}${done.value.regrade.keptCorrected > 0 ? `&kept=${done.value.regrade.keptCorrected}` : ''}`,
      'calibration-set-regraded',
    );
  });

  app.post('/fleet/:id/retire', async (c) => {
    const id = idParam(c);
    const form = await readForm(c);
    const device = await adminDevice(c, id, 'retire a device');
    const values = { reason: optionalText(form, 'reason') ?? '' };
    const done = await attempt(async () => {
      const body = validated(DEVICE_RETIRE_BODY, { reason: values.reason === '' ? null : values.reason });
      await setDeviceRetired(sql, device.id, {
        retire: true,
        by: userOf(c).email,
        reason: body.reason ?? null,
      });
    }, RETIRE_LABELS);
    if (!done.ok) return renderDevice(c, id, { retire: { values, errors: done.errors } }, done.status);
    return redirectDone(c, `/fleet/${device.id}`, 'device-retired');
  });

  app.post('/fleet/:id/unretire', async (c) => {
    const id = idParam(c);
    await readForm(c);
    const device = await adminDevice(c, id, 'bring a device back into service');
    const done = await attempt(() => setDeviceRetired(sql, device.id, { retire: false }), RETIRE_LABELS);
    if (!done.ok) return renderDevice(c, id, { retire: { values: {}, errors: done.errors } }, done.status);
    return redirectDone(c, `/fleet/${device.id}`, 'device-unretired');
  });

  app.post('/fleet/:id/calibration/clear', async (c) => {
    const id = idParam(c);
    await readForm(c);
    const deviceId = (await adminDevice(c, id)).id;
    const input = calibrationInput({ pixel_spacing_mm: null });
    await recordCalibration(sql, deviceId, input, userOf(c).userId);
    return redirectDone(c, `/fleet/${deviceId}`, 'calibration-cleared');
  });
}

/** After "Set calibration" with the regrade ticked: how many jobs it queued. */
function regradeFlash(queued: string | undefined, keptText: string) {
  return queued !== undefined && /^\d{1,9}$/.test(queued)
    ? [
        {
          kind: 'success' as const,
          text: `${Number(queued)} regrade job${Number(queued) === 1 ? '' : 's'} queued for the scans it applies to (a scan that already had one waiting or running is not queued twice).${keptText}`,
        },
      ]
    : [];
}

/**
 * After a move dated with "Moved on": the scans captured since then that were still filed on the old
 * farm, those moved with it, those its unsynchronised clock cannot place (`?candidates=&refiled=&unsynced=`,
 * digits only), and `claim=1` when the device had no farm to move them from.
 */
function movedLateFlash(c: PageContext) {
  if (c.req.query('done') !== 'device-moved-late') return [];
  const count = (name: string) => {
    const v = c.req.query(name) ?? '';
    return /^\d{1,9}$/.test(v) ? Number(v) : 0;
  };
  const [found, moved, unsynced] = [count('candidates'), count('refiled'), count('unsynced')];
  const scans = (n: number) => `${n} scan${n === 1 ? '' : 's'}`;
  const left = found - moved;
  return [
    {
      kind: 'success' as const,
      text: (
        `Move recorded at the time you gave. ${moved > 0 ? `${scans(moved)} captured since then moved from the old farm to the new one. ` : ''}` +
        (left > 0
          ? `${scans(left)} captured since then ${left === 1 ? 'is' : 'are'} still on the old farm (uploaded before the move was recorded): move ${left === 1 ? 'it' : 'them'} on ${left === 1 ? 'its page' : 'their pages'} if taken on the new farm. `
          : '') +
        (unsynced > 0
          ? `${scans(unsynced)} not moved: the Pi's clock was not synced, so ${unsynced === 1 ? 'its time does' : 'their times do'} not tell which side of the move ${unsynced === 1 ? 'it was' : 'they were'} taken; move ${unsynced === 1 ? 'it on its page' : 'them on their pages'} if taken on the new farm. `
          : '') +
        (c.req.query('claim') === '1'
          ? 'The device had no farm before, so no scans were moved: its earlier scans were filed without a farm (an admin places them on their pages) or by a geofence.'
          : '')
      ).trim(),
    },
  ];
}
