import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCalibrationArgs } from '../grading/calibration-command.ts';
import { applicableCalibration, loadScanContext } from '../grading/scan-context.ts';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { clientsByEmail } from '../test-api-client.ts';
import { distinctWebhook, useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedUser } from '../test-seed.ts';

// Per-device pixel spacing set by an admin through the API (the same rules and rows as
// `cti-server calibration`), read by whoever may see the device, on a real database.

const f = {} as Record<'A' | 'B' | 'devA' | 'devB' | 'admin' | 'scan' | 'devScan', string>;
const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      f.A = await seedFarm(db.sql, 'A');
      f.B = await seedFarm(db.sql, 'B');
      f.devA = await seedDevice(db.sql, 'dev-cal-a', f.A);
      f.devB = await seedDevice(db.sql, 'dev-cal-b', f.B);
      await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: f.A, owner: true }] });
      await seedUser(db.sql, 'tech@example.com', ['technician'], { farms: [{ id: f.A }] });
      f.admin = (await seedUser(db.sql, 'admin@example.com', ['admin'])).id;
      // A real ingested capture (dev-0000, captured 2025-09-01) for the grading worker's query.
      ({ scanId: f.scan } = await ingestCapture(db.sql, planIngest(distinctWebhook(0)), { requestId: 'r0' }));
      const [scan] = await db.sql<{ device_id: string }[]>`SELECT device_id FROM scans WHERE id = ${f.scan}`;
      f.devScan = scan!.device_id;
    },
  },
);
const as = clientsByEmail(() => ctx.server.app);
const path = (device: string) => `/api/v1/devices/${device}/calibrations`;
const rows = async (device: string) =>
  Number(
    (await ctx.db.sql`SELECT count(*)::int AS n FROM device_calibrations WHERE device_id = ${device}`)[0]!.n,
  );

describe('device calibration through the API', () => {
  test('an admin sets it (recorded with who and when); grading of the device’s scans reads it', async () => {
    const admin = await as('admin@example.com');
    const empty = await admin.request('GET', path(f.devA));
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { device_id: f.devA, items: [] });
    const set = await admin.request('POST', path(f.devA), {
      body: {
        pixel_spacing_mm: 0.29586,
        image_width: 940,
        image_height: 720,
        valid_from: '2025-01-01T00:00:00Z',
        note: 'LV5-2 at 20 cm',
      },
    });
    assert.equal(set.status, 201, set.text);
    const [row] = set.body.items;
    assert.equal(row.pixel_spacing_mm, 0.29586);
    assert.equal(row.pixel_aspect, null, 'no aspect declared');
    assert.deepEqual([row.image_width, row.image_height], [940, 720]);
    assert.equal(row.valid_from, '2025-01-01T00:00:00.000Z');
    assert.equal(row.note, 'LV5-2 at 20 cm');
    assert.deepEqual(row.created_by, { id: f.admin, email: 'admin@example.com' });
    assert.ok(Math.abs(Date.parse(row.created_at) - Date.now()) < 60_000);
    assert.equal(row.in_effect, true);
    const [stored] = await ctx.db.sql`SELECT created_by FROM device_calibrations WHERE id = ${row.id}`;
    assert.equal(stored!.created_by, f.admin);
    // The grading worker's query sees what the API wrote for a scan captured after valid_from, at that size.
    const graded = await admin.request('POST', path(f.devScan), {
      body: {
        pixel_spacing_mm: 0.29586,
        pixel_aspect: 0.8889,
        image_width: 940,
        image_height: 720,
        valid_from: '2025-01-01T00:00:00Z',
      },
    });
    assert.equal(graded.status, 201, graded.text);
    assert.equal(graded.body.items[0].pixel_aspect, 0.8889);
    const ctxRow = await loadScanContext(ctx.db.sql, f.scan);
    assert.deepEqual(applicableCalibration(ctxRow!.calibrations, 940, 720), {
      id: graded.body.items[0].id,
      pixelSpacingMm: 0.29586,
      pixelAspect: 0.8889,
    });
    assert.equal(applicableCalibration(ctxRow!.calibrations, 640, 480), null, 'another image size');
  });

  test('technicians and farmers of the device’s farm read it; another farm’s device is 404', async () => {
    for (const who of ['tech@example.com', 'farmer@example.com']) {
      const client = await as(who);
      const mine = await client.request('GET', path(f.devA));
      assert.equal(mine.status, 200, who);
      assert.ok(mine.body.items.length >= 1);
      assert.equal((await client.request('GET', path(f.devB))).status, 404, who);
    }
  });

  test('a newer, future or size-specific row is in effect only where grading would take it; clearing adds a withdrawal', async () => {
    const admin = await as('admin@example.com');
    const future = await admin.request('POST', path(f.devA), {
      body: { pixel_spacing_mm: 0.5, valid_from: '2999-01-01T00:00:00Z' },
    });
    assert.equal(future.status, 201);
    assert.deepEqual(
      future.body.items.map((r: { pixel_spacing_mm: number; in_effect: boolean }) => [
        r.pixel_spacing_mm,
        r.in_effect,
      ]),
      [
        [0.5, false],
        [0.29586, true],
      ],
    );
    const cleared = await admin.request('POST', path(f.devA), {
      body: { pixel_spacing_mm: null, note: 'probe sent for repair' },
    });
    assert.equal(cleared.status, 201, cleared.text);
    const withdrawal = cleared.body.items.find(
      (r: { note: string | null }) => r.note === 'probe sent for repair',
    );
    assert.equal(withdrawal.pixel_spacing_mm, null);
    assert.equal(withdrawal.image_width, null);
    assert.equal(withdrawal.in_effect, true);
    assert.equal(
      cleared.body.items.find((r: { pixel_spacing_mm: number | null }) => r.pixel_spacing_mm === 0.29586)
        .in_effect,
      false,
      'a withdrawal for every size supersedes the 940x720 row',
    );
    // Withdrawn before the capture: grading skips the calibration.
    const back = await admin.request('POST', path(f.devScan), {
      body: { pixel_spacing_mm: null, valid_from: '2025-08-01T00:00:00Z' },
    });
    assert.equal(back.status, 201, back.text);
    const scanCtx = await loadScanContext(ctx.db.sql, f.scan);
    assert.equal(applicableCalibration(scanCtx!.calibrations, 940, 720), null, 'grading skips it now');
  });

  test('the pixel aspect alone (pixel_spacing_mm absent or null): a row with no spacing that grading applies for its aspect; clearing withdraws both', async () => {
    const admin = await as('admin@example.com');
    const set = await admin.request('POST', path(f.devScan), {
      body: { pixel_aspect: 0.889, valid_from: '2025-08-20T00:00:00Z', note: 'frame grabber 720×480' },
    });
    assert.equal(set.status, 201, set.text);
    const row = set.body.items[0];
    assert.deepEqual(
      [row.pixel_spacing_mm, row.pixel_aspect, row.image_width, row.note, row.in_effect],
      [null, 0.889, null, 'frame grabber 720×480', true],
    );
    const applied = async (w: number, h: number) =>
      applicableCalibration((await loadScanContext(ctx.db.sql, f.scan))!.calibrations, w, h);
    assert.deepEqual(await applied(940, 720), { id: row.id, pixelSpacingMm: null, pixelAspect: 0.889 });
    // An explicit null spacing beside an aspect is the same kind of row.
    const explicit = await admin.request('POST', path(f.devScan), {
      body: { pixel_spacing_mm: null, pixel_aspect: 1.0667, valid_from: '2025-08-21T00:00:00Z' },
    });
    assert.equal(explicit.status, 201, explicit.text);
    assert.deepEqual(await applied(720, 480), {
      id: explicit.body.items[0].id,
      pixelSpacingMm: null,
      pixelAspect: 1.0667,
    });
    const listed = await admin.request('GET', path(f.devScan));
    assert.deepEqual(
      listed.body.items
        .slice(0, 2)
        .map((r: { pixel_spacing_mm: null; pixel_aspect: number }) => [r.pixel_spacing_mm, r.pixel_aspect]),
      [
        [null, 1.0667],
        [null, 0.889],
      ],
    );
    const cleared = await admin.request('POST', path(f.devScan), {
      body: { pixel_spacing_mm: null, valid_from: '2025-08-22T00:00:00Z' },
    });
    assert.equal(cleared.status, 201, cleared.text);
    assert.deepEqual(
      [cleared.body.items[0].pixel_spacing_mm, cleared.body.items[0].pixel_aspect],
      [null, null],
    );
    assert.equal(await applied(720, 480), null, 'spacing and aspect withdrawn');
  });

  test('bad values are 422 naming the field, and nothing is written', async () => {
    const admin = await as('admin@example.com');
    const before = await rows(f.devA);
    const cases: [Record<string, unknown>, string][] = [
      [{ pixel_spacing_mm: 0 }, '/pixel_spacing_mm'],
      [{ pixel_spacing_mm: -0.3 }, '/pixel_spacing_mm'],
      [{ pixel_spacing_mm: 5.01 }, '/pixel_spacing_mm'],
      [{ pixel_spacing_mm: 0.000001 }, '/pixel_spacing_mm'],
      [{ pixel_spacing_mm: '0.3' }, '/pixel_spacing_mm'],
      // Neither a spacing nor an aspect: nothing to set (a clear says pixel_spacing_mm: null).
      [{}, '/pixel_spacing_mm'],
      [{}, '/pixel_aspect'],
      [{ pixel_aspect: null, note: 'x' }, '/pixel_spacing_mm'],
      [{ pixel_aspect: null }, '/pixel_aspect'],
      [{ pixel_spacing_mm: 0.3, image_width: 940 }, '/image_height'],
      [{ pixel_spacing_mm: 0.3, image_height: 720 }, '/image_width'],
      [{ pixel_spacing_mm: 0.3, image_width: 0, image_height: 720 }, '/image_width'],
      [{ pixel_spacing_mm: 0.3, image_width: 940.5, image_height: 720 }, '/image_width'],
      [{ pixel_spacing_mm: 0.3, valid_from: 'monday' }, '/valid_from'],
      [{ pixel_spacing_mm: 0.3, valid_from: '2025-06-30T23:59:60Z' }, '/valid_from'],
      [{ pixel_spacing_mm: 0.3, valid_from: '0000-01-01T00:00:00Z' }, '/valid_from'],
      [{ pixel_spacing_mm: 0.3, note: 'x'.repeat(501) }, '/note'],
      [{ pixel_spacing_mm: 0.3, spacing: 1 }, '/spacing'],
      [{ pixel_spacing_mm: 0.3, pixel_aspect: 0.3 }, '/pixel_aspect'],
      [{ pixel_spacing_mm: 0.3, pixel_aspect: 16 / 9 + 1 }, '/pixel_aspect'],
      [{ pixel_spacing_mm: 0.3, pixel_aspect: '8:9' }, '/pixel_aspect'],
      [{ pixel_aspect: 0.3 }, '/pixel_aspect'],
      [{ pixel_spacing_mm: null, pixel_aspect: 2.5 }, '/pixel_aspect'],
      [{ pixel_aspect: 0.889, pixel_spacing_mm: 0 }, '/pixel_spacing_mm'],
    ];
    for (const [body, pointer] of cases) {
      const res = await admin.request('POST', path(f.devA), { body });
      assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`);
      const pointers = (res.body.problems ?? []).map((p: { pointer: string }) => p.pointer);
      assert.ok(
        pointers.includes(pointer),
        `${pointer} in ${JSON.stringify(res.body.problems)} for ${JSON.stringify(body)}`,
      );
    }
    assert.equal(await rows(f.devA), before);
    const neither = await admin.request('POST', path(f.devA), { body: { note: 'no values' } });
    assert.match(
      neither.body.message,
      /give pixel_spacing_mm, pixel_aspect or both to set a calibration, or pixel_spacing_mm: null to clear it/,
    );
    // The same spacing rule as the command line (one module).
    assert.throws(
      () => parseCalibrationArgs(['set', '--device', 'd', '--pixel-spacing-mm', '0.000001']),
      /mm per pixel in \(0, 5\]/,
    );
  });

  test('non-admins are refused (403); an unknown or malformed device is 404', async () => {
    for (const who of ['tech@example.com', 'farmer@example.com']) {
      const res = await (await as(who)).request('POST', path(f.devA), { body: { pixel_spacing_mm: 0.3 } });
      assert.equal(res.status, 403, who);
    }
    const admin = await as('admin@example.com');
    const unknown = '00000000-0000-4000-8000-000000000000';
    assert.equal((await admin.request('GET', path(unknown))).status, 404);
    const res = await admin.request('POST', path(unknown), { body: { pixel_spacing_mm: 0.3 } });
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'not_found');
    assert.equal((await admin.request('GET', path('dev-cal-a'))).status, 404);
  });
});
