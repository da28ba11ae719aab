import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook } from '../test-helpers.ts';
import { parseCalibrationArgs, runCalibration } from './calibration-command.ts';
import { applicableCalibration, loadScanContext } from './scan-context.ts';

let db: TestDatabase;
let scanId: string;
before(async () => {
  db = await createTestDatabase({ max: 2 });
  ({ scanId } = await ingestCapture(db.sql, planIngest(distinctWebhook(0)), { requestId: 'r0' })); // dev-0000, 2025-09-01
});
after(() => db.drop());

const set = (args: string[]) =>
  runCalibration(db.sql, parseCalibrationArgs(['set', '--device', 'dev-0000', ...args]));

describe('device calibration', () => {
  test('arguments are checked and the problem named', () => {
    for (const [args, problem] of [
      [['fix'], /expected set, clear or list/],
      [['set', '--pixel-spacing-mm', '0.3'], /--device <code> is required/],
      [['set', '--device', 'd', '--pixel-spacing-mm', '0'], /must be a number of mm per pixel in \(0, 5\]/],
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--image-size', '940'], /WIDTHxHEIGHT/],
      [['clear', '--device', 'd', '--pixel-spacing-mm', '0.3'], /clear takes no --pixel-spacing-mm/],
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--valid-from', 'monday'], /not a date/],
      // numeric(8, 5) would store it as 0, which the table's check refuses (an error, not a usage message)
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.000001'], /at least 0\.00001/],
      [['set', '--device', 'd', '--pixel-spacing-mm', ' '], /mm per pixel/],
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--valid-from', '0000-01-01'], /not a date/],
      // new Date('2025-02-30') is 2 March: an impossible day must not become another one
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--valid-from', '2025-02-30'], /not a date/],
      [['list', '--device', 'Pi 5'], /--device "Pi 5" is not a device code/],
      [
        ['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--valid-from', '2025-04-31T08:00:00Z'],
        /not a date/,
      ],
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--image-size', '0x720'], /WIDTHxHEIGHT/],
      [
        ['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--note', 'x'.repeat(501)],
        /--note must be at most 500/,
      ],
    ] as const) {
      assert.throws(() => parseCalibrationArgs([...args]), problem);
    }
  });

  test('the newest calibration valid at capture time and matching the image size applies; clear withdraws it', async () => {
    const calibrations = async () => (await loadScanContext(db.sql, scanId))!.calibrations;
    assert.equal(applicableCalibration(await calibrations(), 940, 720), null);
    await set([
      '--pixel-spacing-mm',
      '0.29586',
      '--image-size',
      '940x720',
      '--valid-from',
      '2025-01-01',
      '--note',
      'LV5-2 at 20 cm',
    ]);
    await set(['--pixel-spacing-mm', '0.5', '--valid-from', '2025-10-01']); // after the capture: ignored
    assert.equal(applicableCalibration(await calibrations(), 940, 720)?.pixelSpacingMm, 0.29586);
    assert.equal(applicableCalibration(await calibrations(), 640, 480), null, 'another image size');
    await runCalibration(
      db.sql,
      parseCalibrationArgs(['clear', '--device', 'dev-0000', '--valid-from', '2025-08-01']),
    );
    assert.equal(applicableCalibration(await calibrations(), 940, 720), null, 'withdrawn before the capture');
    const listed = await runCalibration(db.sql, parseCalibrationArgs(['list', '--device', 'dev-0000']));
    assert.equal(listed.length, 3);
    assert.match(listed[2]!, /0\.29586 mm\/px for 940x720 images — LV5-2 at 20 cm/);
    await assert.rejects(
      runCalibration(db.sql, parseCalibrationArgs(['list', '--device', 'dev-9999'])),
      /no device with code/,
    );
  });
});
