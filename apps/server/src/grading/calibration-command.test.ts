import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { planIngest } from '../ingest/ingest-plan.ts';
import { ingestCapture } from '../ingest/ingest-transaction.ts';
import { distinctWebhook, SOURCE_NODE_ARGS } from '../test-helpers.ts';
import { seedDevice, seedFarm } from '../test-seed.ts';
import { parseCalibrationArgs, runCalibration } from './calibration-command.ts';
import { CommandError } from './database-command.ts';
import { MAX_CALIBRATION_REGRADE_JOBS } from './device-calibration.ts';
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
      [
        ['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--pixel-aspect', '16:9'],
        /--pixel-aspect must be a pixel's width ÷ its height from 0\.5 to 2 .*, got "16:9"/,
      ],
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--pixel-aspect', '2.5'], /from 0\.5 to 2/],
      [['set', '--device', 'd', '--pixel-spacing-mm', '0.3', '--pixel-aspect', ''], /--pixel-aspect must/],
      [['clear', '--device', 'd', '--pixel-aspect', '0.889'], /clear takes no --pixel-aspect/],
      [['set', '--device', 'd'], /set needs --pixel-spacing-mm <mm>, --pixel-aspect <w\/h> or both/],
      [['set', '--device', 'd', '--pixel-aspect', '0.889', '--pixel-spacing-mm', ''], /mm per pixel/],
      [['set', '--device', 'd', '--pixel-aspect', '0.4'], /--pixel-aspect must/],
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

  test('--pixel-aspect is stored with the spacing, applies with it and is listed; a bad one exits 2 naming it, nothing written', async () => {
    const main = new URL('../main.ts', import.meta.url).pathname;
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [...SOURCE_NODE_ARGS, main, 'calibration', ...args], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url },
        encoding: 'utf8',
      });
    const count = async () =>
      (await db.sql`SELECT count(*)::int AS n FROM device_calibrations`)[0]!.n as number;
    const before = await count();
    const bad = cli('set', '--device', 'dev-0000', '--pixel-spacing-mm', '0.3', '--pixel-aspect', '3');
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--pixel-aspect must be a pixel's width ÷ its height from 0\.5 to 2/);
    assert.equal(await count(), before, 'nothing written');

    const ok = cli(
      'set',
      '--device',
      'dev-0000',
      '--pixel-spacing-mm',
      '0.3',
      '--pixel-aspect',
      '0.8889',
      '--image-size',
      '720x480',
      '--valid-from',
      '2025-08-15',
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /dev-0000: 0\.3 mm\/px, pixel aspect 0\.8889 for 720x480 images/);
    const context = (await loadScanContext(db.sql, scanId))!;
    assert.deepEqual(applicableCalibration(context.calibrations, 720, 480), {
      id: context.calibrations[0]!.id,
      pixelSpacingMm: 0.3,
      pixelAspect: 0.8889,
    });
    const listed = cli('list', '--device', 'dev-0000');
    assert.match(
      listed.stdout,
      /from 2025-08-15T00:00:00\.000Z: 0\.3 mm\/px, pixel aspect 0\.8889 for 720x480/,
    );
    // The table refuses an aspect outside the range, whatever wrote it.
    for (const [mm, aspect] of [
      [0.3, 2.5],
      [null, 0.3],
    ] as const)
      await assert.rejects(
        db.sql`INSERT INTO device_calibrations (device_id, pixel_spacing_mm, pixel_aspect)
               SELECT device_id, ${mm}, ${aspect} FROM scans WHERE id = ${scanId}`,
        (err: { code?: string; constraint_name?: string }) =>
          err.code === '23514' && err.constraint_name === 'device_calibrations_aspect_check',
      );
  });
});

describe('a calibration that declares only the pixel aspect (a scanner whose spacing the ruler reads)', () => {
  test('set --pixel-aspect without --pixel-spacing-mm adds an aspect-only row that applies with no spacing; list says where the spacing comes from; clear withdraws both', async () => {
    const main = new URL('../main.ts', import.meta.url).pathname;
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [...SOURCE_NODE_ARGS, main, 'calibration', ...args], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url },
        encoding: 'utf8',
      });
    const ok = cli('set', '--device', 'dev-0000', '--pixel-aspect', '0.889', '--valid-from', '2025-08-20');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /dev-0000: spacing from meta\.json or the ruler, pixel aspect 0\.889 from 2025-08-20T00:00:00\.000Z \(#\d+\)/,
    );
    const [row] = await db.sql`
      SELECT id::text AS id, pixel_spacing_mm, pixel_aspect::float8 AS aspect FROM device_calibrations
       WHERE valid_from = '2025-08-20T00:00:00Z'`;
    assert.deepEqual([row!.pixel_spacing_mm, row!.aspect], [null, 0.889]);
    // The newest row valid at the capture applies, to every size: its aspect, and no spacing of its own.
    const calibrations = async () => (await loadScanContext(db.sql, scanId))!.calibrations;
    for (const [w, h] of [
      [940, 720],
      [720, 480],
    ] as const)
      assert.deepEqual(applicableCalibration(await calibrations(), w, h), {
        id: row!.id,
        pixelSpacingMm: null,
        pixelAspect: 0.889,
      });
    const listed = cli('list', '--device', 'dev-0000');
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /^#\d+ from 2025-08-20T00:00:00\.000Z: spacing from meta\.json or the ruler, pixel aspect 0\.889$/m,
    );

    const cleared = cli('clear', '--device', 'dev-0000', '--valid-from', '2025-08-25');
    assert.equal(cleared.status, 0, cleared.stderr);
    assert.match(cleared.stdout, /dev-0000: no calibration from 2025-08-25/);
    assert.equal(applicableCalibration(await calibrations(), 720, 480), null, 'spacing and aspect withdrawn');
    assert.match(
      cli('list', '--device', 'dev-0000').stdout,
      /^#\d+ from 2025-08-25T00:00:00\.000Z: withdrawn$/m,
    );
  });
});

describe("calibration set/clear --regrade (the API's regrade, in the same transaction)", () => {
  const ids = {} as Record<'small' | 'big' | 'jan' | 'mar', string>;
  before(async () => {
    const farm = await seedFarm(db.sql, 'CLI regrade farm');
    ids.small = await seedDevice(db.sql, 'dev-cli-rg', farm);
    ids.big = await seedDevice(db.sql, 'dev-cli-big', farm);
    const scans = (device: string, count: number, from: string) => db.sql`
      INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, captured_at, status)
      SELECT 'cap_' || ${device}::text || '_' || n, 's3://b/raw/x/cap_' || ${device}::text || '_' || n || '/', ${device},
             ${farm}, ${from}::timestamptz + n * interval '1 second', 'graded'
        FROM generate_series(1, ${count}::int) AS n`;
    await scans(ids.small, 1, '2025-01-15T12:00:00Z');
    await scans(ids.big, MAX_CALIBRATION_REGRADE_JOBS + 1, '2025-06-01T00:00:00Z');
    [ids.jan, ids.mar] = [
      (await db.sql`SELECT id FROM scans WHERE device_id = ${ids.small}`)[0]!.id,
      (
        await db.sql`
        INSERT INTO scans (capture_id, ingest_key, device_id, farm_id, captured_at, status)
        VALUES ('cap_cli_mar', 's3://b/raw/x/cap_cli_mar/', ${ids.small}, ${farm}, '2025-03-10T12:00:00Z', 'graded')
        RETURNING id`
      )[0]!.id,
    ];
  });
  const rows = async (device: string) =>
    (await db.sql`SELECT count(*)::int AS n FROM device_calibrations WHERE device_id = ${device}`)[0]!.n;
  const jobs = async (device: string) =>
    (
      await db.sql<{ scan_id: string }[]>`
        SELECT j.scan_id::text AS scan_id FROM grading_jobs j JOIN scans s ON s.id = j.scan_id
         WHERE s.device_id = ${device} AND j.status IN ('queued', 'running') ORDER BY 1`
    ).map((r) => r.scan_id);
  const run = (...args: string[]) => runCalibration(db.sql, parseCalibrationArgs(args));

  test('--regrade is refused by list, and is a flag', () => {
    assert.throws(
      () => parseCalibrationArgs(['list', '--device', 'd', '--regrade']),
      /list takes no --regrade/,
    );
    assert.throws(
      () => parseCalibrationArgs(['clear', '--device', 'd', '--regrade=yes']),
      /--regrade.*(does not take|argument)/,
    );
  });

  test('set --regrade records the row and queues a job for each scan it applies to; clear --regrade too', async () => {
    const [line] = await run(
      'set',
      '--device',
      'dev-cli-rg',
      '--pixel-spacing-mm',
      '0.3',
      '--valid-from',
      '2025-02-01',
      '--regrade',
    );
    assert.match(
      line!,
      /dev-cli-rg: 0\.3 mm\/px from 2025-02-01T00:00:00\.000Z \(#\d+\); queued 1 regrade job\(s\) for 1 scan\(s\) it applies to, 0 already had a job waiting or running/,
    );
    assert.equal(await rows(ids.small), 1);
    assert.deepEqual(await jobs(ids.small), [ids.mar], 'the March scan, not January (before the row)');
    // Again, earlier: January now too; March already waits and is not queued twice.
    const [again] = await run('clear', '--device', 'dev-cli-rg', '--valid-from', '2025-01-01', '--regrade');
    assert.match(again!, /no calibration from 2025-01-01.*queued 1 regrade job\(s\) for 1 scan\(s\)/);
    assert.deepEqual(await jobs(ids.small), [ids.jan, ids.mar].sort());
    // Without --regrade nothing is queued and the line points at the command.
    const [plain] = await run(
      'set',
      '--device',
      'dev-cli-rg',
      '--pixel-spacing-mm',
      '0.4',
      '--valid-from',
      '2024-01-01',
    );
    // The command it points at regrades what the row applies to (captured since its valid-from), not the
    // device's whole history; a row from now on applies to no existing scan.
    assert.match(
      plain!,
      /regrade the scans it applies to with cti-server regrade --device dev-cli-rg --since 2024-01-01T00:00:00\.000Z \(or add --regrade\)$/,
    );
    const [fromNow] = await run('set', '--device', 'dev-cli-rg', '--pixel-spacing-mm', '0.41');
    assert.match(fromNow!, /it applies to scans captured from now on: no existing scan is affected$/);
  });

  test(`more than ${MAX_CALIBRATION_REGRADE_JOBS} jobs: refused naming the count and the command, nothing written`, async () => {
    await assert.rejects(
      run(
        'set',
        '--device',
        'dev-cli-big',
        '--pixel-spacing-mm',
        '0.3',
        '--valid-from',
        '2025-05-01',
        '--regrade',
      ),
      (err: Error) =>
        err instanceof CommandError &&
        new RegExp(
          `${MAX_CALIBRATION_REGRADE_JOBS + 1} scans to regrade, more than ${MAX_CALIBRATION_REGRADE_JOBS}`,
        ).test(err.message) &&
        /nothing was saved.*cti-server regrade --device dev-cli-big --since 2025-05-01T00:00:00\.000Z/.test(
          err.message,
        ),
    );
    assert.equal(await rows(ids.big), 0, 'no calibration row');
    assert.deepEqual(await jobs(ids.big), [], 'no job');
  });
});
