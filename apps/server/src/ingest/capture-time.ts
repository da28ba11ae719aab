import type { WebhookBody } from '@cti/contracts';

/**
 * The earliest capture time the server takes as real. A Raspberry Pi has no battery-backed clock: one
 * that boots without a network starts at 1970 (or at the last time fake-hwclock saved), and a capture
 * taken then carries that date. No CTI capture predates 2020.
 */
export const EARLIEST_CAPTURE_TIME = '2020-01-01T00:00:00.000Z';

/**
 * How far ahead of the server's clock a capture time may be and still be a clock that drifts (the
 * lists count a scan up to 5 minutes ahead as "now", sql-fragments' CAPTURE_CLOCK_TOLERANCE_MINUTES)
 * rather than one set wrong: a day.
 */
export const CAPTURE_AHEAD_LIMIT_HOURS = 24;

/** What ingest makes of meta.json's `captured_at` and `clock`. */
export type CaptureTime = {
  /** scans.captured_at: the device's time, or null when it cannot be a capture time (then the arrival time stands in). */
  capturedAt: string | null;
  /** Why the device's time was not stored, with that time; null when it was. */
  untrusted: { reason: 'before_2020' | 'far_ahead'; device_time: string } | null;
  /** meta.json `clock.synced` (null when the capture does not say); false: the time may be off. */
  clockSynced: boolean | null;
  clockSource: string | null;
};

/**
 * Judges a capture's time at ingest (review r7 F3): a time before 2020 or more than a day ahead of the
 * server is a device clock that was never set or set wrong — it is not stored as the capture time (it
 * would file the scan under 1970 or 2099 and sort it there for ever, and grading would choose the
 * device's calibration by it); the scan then sorts and is measured by its arrival time, and the
 * `ingested` event keeps the device's time and says why. A plausible time from a clock the agent
 * reports unsynchronised is stored, and flagged on the event.
 *
 * @example captureTime(body.meta_json, new Date()).capturedAt
 */
export function captureTime(meta: WebhookBody['meta_json'], now: Date): CaptureTime {
  const device = new Date(meta.captured_at);
  const clockSynced = typeof meta.clock?.synced === 'boolean' ? meta.clock.synced : null;
  const clockSource = typeof meta.clock?.source === 'string' ? meta.clock.source : null;
  const deviceTime = Number.isNaN(device.getTime()) ? meta.captured_at : device.toISOString();
  const reason =
    device.getTime() < Date.parse(EARLIEST_CAPTURE_TIME)
      ? 'before_2020'
      : device.getTime() > now.getTime() + CAPTURE_AHEAD_LIMIT_HOURS * 3_600_000
        ? 'far_ahead'
        : null;
  return {
    capturedAt: reason ? null : meta.captured_at,
    untrusted: reason ? { reason, device_time: deviceTime } : null,
    clockSynced,
    clockSource,
  };
}

/**
 * How far behind the real capture time an unsynchronised clock's time is taken to be at most, when
 * placing a capture against its device's farm moves: the day a plausible time may be ahead.
 */
export const UNSYNCED_CLOCK_AHEAD_HOURS = CAPTURE_AHEAD_LIMIT_HOURS;

/**
 * When the capture may have been taken, to find the farm its device was on then (review r14 F1): from
 * `from` up to its arrival. A synchronised clock (or one the capture says nothing about) places it at
 * captured_at exactly (`uncertain` false). An unsynchronised clock may be behind by however long the
 * Pi was off (fake-hwclock restores the last saved time) and ahead by up to a day: from a day before
 * captured_at. A time the server did not take (1970, 2099) places it nowhere: `from` null, any time.
 *
 * @example placeWindow(plan.captureTime) // { from: '2026-12-05T08:00:00.000Z', uncertain: true }
 */
export function placeWindow(time: CaptureTime): { from: string | null; uncertain: boolean } {
  if (time.capturedAt === null) return { from: null, uncertain: true };
  if (time.clockSynced !== false) return { from: time.capturedAt, uncertain: false };
  const from = Date.parse(time.capturedAt) - UNSYNCED_CLOCK_AHEAD_HOURS * 3_600_000;
  return { from: new Date(from).toISOString(), uncertain: true };
}
