import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MIGRATIONS_DIR, migrate } from '@cti/db';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';

// Migration 0021 lets a device calibration declare the pixel aspect alone (issue 11): the rows written
// under 0020 are kept as they are, then the four kinds of row are checked under the latest schema.

let db: TestDatabase;
let upTo0020: string;
let deviceId: string;

const insert = (mm: number | null, aspect: number | null) =>
  db.sql`INSERT INTO device_calibrations (device_id, pixel_spacing_mm, pixel_aspect)
         VALUES (${deviceId}, ${mm}, ${aspect}) RETURNING id`;
const refusedBy =
  (constraint: string) =>
  (err: { code?: string; constraint_name?: string }): boolean =>
    err.code === '23514' && err.constraint_name === constraint;

before(async () => {
  db = await createTestDatabase({ migrated: false, max: 2 });
  upTo0020 = mkdtempSync(join(tmpdir(), 'cti-migrations-0020-'));
  cpSync(MIGRATIONS_DIR, upTo0020, {
    recursive: true,
    filter: (src) => Number(/^(\d{4})_/.exec(basename(src))?.[1] ?? 0) < 21,
  });
  await migrate({ sql: db.sql, dir: upTo0020 });
  const [device] = await db.sql<{ id: string }[]>`
    INSERT INTO devices (device_code) VALUES ('dev-0021') RETURNING id`;
  deviceId = device!.id;
  await insert(0.3, 0.8889);
  await insert(0.29586, null);
  await insert(null, null);
});
after(async () => {
  rmSync(upTo0020, { recursive: true, force: true });
  await db.drop();
});

const kinds = async () =>
  (
    await db.sql<{ mm: string | null; aspect: string | null }[]>`
      SELECT pixel_spacing_mm::text AS mm, pixel_aspect::text AS aspect
        FROM device_calibrations WHERE device_id = ${deviceId} ORDER BY id`
  ).map((r) => `${r.mm ?? '-'} ${r.aspect ?? '-'}`);

describe('migration 0021: a calibration that declares only the pixel aspect', () => {
  test('under 0020 an aspect needs a spacing; 0021 keeps the rows and allows the aspect alone', async () => {
    await assert.rejects(insert(null, 0.8889), refusedBy('device_calibrations_aspect_check'));
    const { applied } = await migrate({ sql: db.sql });
    assert.equal(applied[0], '0021_calibration_aspect_only.sql');
    assert.deepEqual(await kinds(), ['0.30000 0.8889', '0.29586 -', '- -']);
    await insert(null, 0.8889);
    assert.deepEqual(await kinds(), ['0.30000 0.8889', '0.29586 -', '- -', '- 0.8889']);
  });

  test('the four kinds are stored; a spacing or aspect out of range is refused by its constraint', async () => {
    for (const [mm, aspect] of [
      [0.5, 1.0667],
      [0.5, null],
      [null, 0.5],
      [null, 2],
      [null, null],
    ] as const)
      await insert(mm, aspect);
    for (const [mm, aspect, constraint] of [
      [null, 0.3, 'device_calibrations_aspect_check'],
      [null, 2.5, 'device_calibrations_aspect_check'],
      [null, 0, 'device_calibrations_aspect_check'],
      [0.3, 2.01, 'device_calibrations_aspect_check'],
      [0, 0.8889, 'device_calibrations_spacing_check'],
      [6, null, 'device_calibrations_spacing_check'],
    ] as const)
      await assert.rejects(insert(mm, aspect), refusedBy(constraint), `${mm} ${aspect}`);
  });
});
