import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exampleMeta, exampleWebhookBody } from '@cti/contracts/testing';
import { loadScanContext } from '../grading/scan-context.ts';
import { apiClient } from '../test-api-client.ts';
import { sha256, useTestApp, withRelayFields } from '../test-helpers.ts';
import { seedDevice, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { eventSummary } from '../web/components/event-summary.ts';
import { captureTime } from './capture-time.ts';
import { planIngest } from './ingest-plan.ts';
import { ingestCapture } from './ingest-transaction.ts';

// A capture taken with a device clock that was never set (a Pi without a real-time clock boots at
// 1970), set far ahead, or not synchronised (review r7 F3): what ingest stores and says, how the scan
// sorts and which device calibration grading chooses — on a real database with the real migrations.

const NOW = new Date('2026-12-06T12:00:00Z');

describe('captureTime', () => {
  test('a time before 2020 or more than a day ahead is no capture time; drift and unsynced clocks are kept', () => {
    const at = (captured_at: string, clock?: { synced: boolean; source?: string }) =>
      captureTime(exampleMeta({ captured_at, ...(clock ? { clock } : {}) }), NOW);
    assert.deepEqual(at('1970-01-01T00:00:42Z', { synced: false }), {
      capturedAt: null,
      untrusted: { reason: 'before_2020', device_time: '1970-01-01T00:00:42.000Z' },
      clockSynced: false,
      clockSource: null,
    });
    assert.equal(at('2099-03-01T10:00:00Z').untrusted?.reason, 'far_ahead');
    assert.equal(at('2026-12-07T12:00:01Z').untrusted?.reason, 'far_ahead', 'a day and a second ahead');
    assert.equal(at('2026-12-07T11:59:59Z').capturedAt, '2026-12-07T11:59:59Z', 'within a day: drift');
    assert.equal(at('2020-01-01T00:00:00Z').capturedAt, '2020-01-01T00:00:00Z');
    const stale = at('2026-12-01T08:00:00Z', { synced: false, source: 'fake-hwclock' });
    assert.deepEqual(stale, {
      capturedAt: '2026-12-01T08:00:00Z',
      untrusted: null,
      clockSynced: false,
      clockSource: 'fake-hwclock',
    });
  });
});

const ctx = useTestApp();

function webhook(device: string, id: number, capturedAt: string, clock?: { synced: boolean }) {
  const meta = exampleMeta({
    device_code: device,
    capture_id: `cap_${1765000000 + id}`,
    captured_at: capturedAt,
    image_sha256: sha256(`clock image ${id}`),
    ...(clock ? { clock } : {}),
  });
  return withRelayFields(exampleWebhookBody({ meta_json: meta }), `clock-${id}`);
}

describe('ingest of captures from wrong clocks', () => {
  test('1970 and 2099 are not stored as capture times: the scan sorts by arrival, the event keeps the device time', async () => {
    const { sql } = ctx.db;
    const device = 'dev-clock';
    const deviceId = await seedDevice(sql, device, null);
    const ingest = async (id: number, at: string, clock?: { synced: boolean }) =>
      (
        await ingestCapture(sql, planIngest(webhook(device, id, at, clock), { now: new Date() }), {
          requestId: `r${id}`,
        })
      ).scanId;
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    const old = await ingest(1, yesterday);
    const epoch = await ingest(2, '1970-01-01T00:00:42Z', { synced: false });
    const future = await ingest(3, '2099-03-01T10:00:00Z', { synced: true });
    const stale = await ingest(4, '2025-01-02T03:04:05Z', { synced: false });

    const stored = await sql<{ id: string; captured_at: Date | null; created_at: Date }[]>`
      SELECT id, captured_at, created_at FROM scans WHERE device_id = ${deviceId}`;
    const byId = new Map(stored.map((r) => [r.id, r]));
    assert.equal(byId.get(epoch)!.captured_at, null);
    assert.equal(byId.get(future)!.captured_at, null);
    assert.equal(byId.get(stale)!.captured_at!.toISOString(), '2025-01-02T03:04:05.000Z');

    const ingested = async (scan: string) =>
      (
        await sql<{ meta: Record<string, unknown> }[]>`
        SELECT meta FROM scan_events WHERE scan_id = ${scan} AND event = 'ingested'`
      )[0]!.meta;
    const epochMeta = await ingested(epoch);
    assert.deepEqual(epochMeta.capture_time_untrusted, {
      reason: 'before_2020',
      device_time: '1970-01-01T00:00:42.000Z',
    });
    assert.equal(epochMeta.clock_unsynced, true);
    assert.deepEqual((await ingested(future)).capture_time_untrusted, {
      reason: 'far_ahead',
      device_time: '2099-03-01T10:00:00.000Z',
    });
    assert.equal((await ingested(stale)).clock_unsynced, true);
    assert.equal((await ingested(old)).capture_time_untrusted, undefined);
    assert.match(
      eventSummary('ingested', epochMeta) ?? '',
      /1970-01-01T00:00:42\.000Z\).*before 2020.*arrival time stands in/,
    );
    assert.match(
      eventSummary('ingested', await ingested(stale)) ?? '',
      /not synchronised: the capture time may be off/,
    );

    // Newest first: the 1970 and 2099 captures arrived just now, so they sort with now — not at the
    // bottom and the top of the list for ever; the stale 2025 time is kept as the device said.
    await seedUser(sql, 'admin@example.com', ['admin']);
    const admin = apiClient(ctx.server.app);
    assert.equal((await admin.signIn('admin@example.com', TEST_PASSWORD)).status, 200);
    const list = await admin.request('GET', `/api/v1/scans?device_id=${deviceId}`);
    assert.equal(list.status, 200, list.text);
    const order = list.body.items.map((s: { id: string }) => s.id);
    assert.deepEqual(order.slice(2), [old, stale]);
    assert.deepEqual(new Set(order.slice(0, 2)), new Set([epoch, future]));
    const detail = await admin.request('GET', `/api/v1/scans/${epoch}`);
    assert.equal(detail.body.captured_at, null);

    // Grading chooses the device calibration by the arrival time when there is no capture time: a
    // calibration valid since last week applies to the 1970 capture (by its own time, none would).
    await sql`INSERT INTO device_calibrations (device_id, pixel_spacing_mm, valid_from)
              VALUES (${deviceId}, 0.2, now() - interval '7 days')`;
    assert.equal((await loadScanContext(sql, epoch))!.calibrations.length, 1);
    assert.equal((await loadScanContext(sql, future))!.calibrations.length, 1);
    assert.equal((await loadScanContext(sql, stale))!.calibrations.length, 0, 'its own (2025) time');
  });
});
