import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Sql } from 'postgres';
import { MIGRATIONS_DIR, MigrationError, migrate } from './index.ts';
import { createTestDatabase } from './testing.ts';

// Migrations 0033 and 0034 on real Postgres + PostGIS: scans.gps, farms.centroid and farms.geofence
// refuse NaN, ±Infinity, out-of-range and empty coordinates and an invalid fence, each by a constraint
// named for it; a database holding such rows is not migrated and is told which rows; the constraints
// are validated without an exclusive lock on the table.

type T = { after: (fn: () => unknown) => void };

/** A copy of the migrations up to `last` (inclusive), for a database migrated part way. */
function migrationsUpTo(t: T, last: number): string {
  const dir = mkdtempSync(join(tmpdir(), `cti-db-${last}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(MIGRATIONS_DIR, dir, {
    recursive: true,
    filter: (src) => !/\/(\d{4})_/.test(src) || Number(/\/(\d{4})_/.exec(src)![1]) <= last,
  });
  return dir;
}

// Coordinates travel as text so that NaN and ±Infinity reach Postgres as float8 values.
const point = (sql: Sql, [lon, lat]: [number, number]) =>
  sql`ST_SetSRID(ST_MakePoint(${String(lon)}::float8, ${String(lat)}::float8), 4326)`;

/** A polygon of one ring through `ring` (closed by the caller), built vertex by vertex: WKT has no Infinity. */
const polygon = (sql: Sql, ring: [number, number][]) =>
  sql`ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY(
        SELECT ST_MakePoint(x, y)
          FROM unnest(${ring.map(([x]) => String(x))}::float8[], ${ring.map(([, y]) => String(y))}::float8[])
               WITH ORDINALITY AS v(x, y, i) ORDER BY i))), 4326)`;

const POINT_EMPTY = 'SRID=4326;POINT EMPTY';
const POLYGON_EMPTY = 'SRID=4326;POLYGON EMPTY';

async function device(sql: Sql): Promise<string> {
  const [d] = await sql<{ id: string }[]>`INSERT INTO devices (device_code) VALUES ('dev-1') RETURNING id`;
  return d!.id;
}

let captures = 0;
const insertScan = (sql: Sql, deviceId: string, gps: ReturnType<typeof point> | string) => {
  const n = ++captures;
  return sql<{ id: string }[]>`
    INSERT INTO scans (capture_id, ingest_key, device_id, gps)
    VALUES (${`cap_${n}`}, ${`raw/dev-1/2026/12/07/cap_${n}/`}, ${deviceId},
            ${typeof gps === 'string' ? sql`${gps}::geometry` : gps})
    RETURNING id`;
};

type Geometry = ReturnType<typeof point> | string;
const geometry = (sql: Sql, g: Geometry | null) =>
  g === null ? sql`NULL` : typeof g === 'string' ? sql`${g}::geometry` : g;

const insertFarm = (
  sql: Sql,
  { centroid = null, geofence = null }: { centroid?: Geometry | null; geofence?: Geometry | null },
) =>
  sql<{ id: string }[]>`
    INSERT INTO farms (name, centroid, geofence)
    VALUES ('F', ${geometry(sql, centroid)}, ${geometry(sql, geofence)}) RETURNING id`;

/** The write is refused by the CHECK constraint `name` (SQLSTATE 23514). */
async function refusedBy(write: Promise<unknown>, name: string) {
  await assert.rejects(write, (err: { code?: string; constraint_name?: string; message?: string }) => {
    assert.equal(err.code, '23514', err.message);
    assert.equal(err.constraint_name, name, err.message);
    return true;
  });
}

const SQUARE: [number, number][] = [
  [10, 10],
  [11, 10],
  [11, 11],
  [10, 11],
  [10, 10],
];

describe('migration 0033: coordinates the database can trust', () => {
  test('scans.gps: NaN, ±Infinity, out of range and empty points are refused, each by its constraint', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const d = await device(sql);
    const cases: [string, [number, number] | string, string][] = [
      ['NaN longitude', [Number.NaN, 1], 'scans_gps_finite'],
      ['NaN latitude', [1, Number.NaN], 'scans_gps_finite'],
      ['+Infinity longitude', [Number.POSITIVE_INFINITY, 1], 'scans_gps_finite'],
      ['-Infinity latitude', [1, Number.NEGATIVE_INFINITY], 'scans_gps_finite'],
      ['latitude 95', [0, 95], 'scans_gps_latitude_range'],
      ['latitude -90.000001', [0, -90.000001], 'scans_gps_latitude_range'],
      ['longitude 400', [400, 0], 'scans_gps_longitude_range'],
      ['longitude -180.5', [-180.5, 0], 'scans_gps_longitude_range'],
      ['huge numbers', [1e300, -1e300], 'scans_gps_latitude_range'],
      ['POINT EMPTY', POINT_EMPTY, 'scans_gps_not_empty'],
    ];
    for (const [what, gps, name] of cases) {
      await t.test(what, () =>
        refusedBy(insertScan(sql, d, typeof gps === 'string' ? gps : point(sql, gps)), name),
      );
    }
    for (const gps of [
      [0, 0],
      [-180, -90],
      [180, 90],
      [-79.3832, 43.6532],
    ] as [number, number][]) {
      await insertScan(sql, d, point(sql, gps));
    }
    await sql`INSERT INTO scans (capture_id, ingest_key, device_id) VALUES ('cap_x', 'raw/dev-1/x/', ${d})`;
    const [row] = await sql`SELECT count(*)::int AS n, count(gps)::int AS located FROM scans`;
    assert.deepEqual({ ...row }, { n: 5, located: 4 }, 'valid points and a scan without one are stored');
    // An update is checked too.
    await refusedBy(
      sql`UPDATE scans SET gps = ${point(sql, [0, 91])} WHERE capture_id = 'cap_x'`,
      'scans_gps_latitude_range',
    );
  });

  test('farms.centroid: the same four constraints', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    await refusedBy(insertFarm(sql, { centroid: point(sql, [Number.NaN, 0]) }), 'farms_centroid_finite');
    await refusedBy(
      insertFarm(sql, { centroid: point(sql, [0, Number.POSITIVE_INFINITY]) }),
      'farms_centroid_finite',
    );
    await refusedBy(insertFarm(sql, { centroid: point(sql, [0, -95]) }), 'farms_centroid_latitude_range');
    await refusedBy(insertFarm(sql, { centroid: point(sql, [181, 0]) }), 'farms_centroid_longitude_range');
    await refusedBy(insertFarm(sql, { centroid: POINT_EMPTY }), 'farms_centroid_not_empty');
    await insertFarm(sql, { centroid: point(sql, [180, -90]) });
    await insertFarm(sql, {});
    assert.equal((await sql`SELECT count(*)::int AS n FROM farms`)[0]!.n, 2);
  });

  test('farms.geofence: NaN or infinite vertices, vertices out of range, empty, self-intersecting are refused', async (t) => {
    const db = await createTestDatabase();
    t.after(() => db.drop());
    const { sql } = db;
    const cases: [string, [number, number][] | string, string][] = [
      [
        'a NaN longitude',
        [
          [10, 10],
          [Number.NaN, 10],
          [11, 11],
          [10, 10],
        ],
        'farms_geofence_finite',
      ],
      [
        'a NaN latitude in the closing vertex',
        [
          [10, Number.NaN],
          [11, 10],
          [11, 11],
          [10, Number.NaN],
        ],
        'farms_geofence_finite',
      ],
      [
        'an infinite vertex',
        [
          [10, 10],
          [11, 10],
          [Number.POSITIVE_INFINITY, 11],
          [10, 10],
        ],
        'farms_geofence_finite',
      ],
      [
        'a -Infinity vertex',
        [
          [10, 10],
          [11, 10],
          [11, Number.NEGATIVE_INFINITY],
          [10, 10],
        ],
        'farms_geofence_finite',
      ],
      [
        'a vertex at latitude 95',
        [
          [10, 10],
          [11, 10],
          [11, 95],
          [10, 10],
        ],
        'farms_geofence_latitude_range',
      ],
      [
        'a vertex at latitude -90.5',
        [
          [10, -90.5],
          [11, 10],
          [11, 11],
          [10, -90.5],
        ],
        'farms_geofence_latitude_range',
      ],
      [
        'a vertex at longitude 400',
        [
          [10, 10],
          [400, 10],
          [11, 11],
          [10, 10],
        ],
        'farms_geofence_longitude_range',
      ],
      [
        'a vertex at longitude -181',
        [
          [-181, 10],
          [11, 10],
          [11, 11],
          [-181, 10],
        ],
        'farms_geofence_longitude_range',
      ],
      ['POLYGON EMPTY', POLYGON_EMPTY, 'farms_geofence_not_empty'],
      [
        'a bow tie (self-intersection)',
        [
          [10, 10],
          [11, 11],
          [11, 10],
          [10, 11],
          [10, 10],
        ],
        'farms_geofence_valid',
      ],
      [
        'a ring folded onto itself (no area)',
        [
          [10, 10],
          [11, 10],
          [12, 10],
          [10, 10],
        ],
        'farms_geofence_valid',
      ],
    ];
    for (const [what, ring, name] of cases) {
      await t.test(what, () =>
        refusedBy(insertFarm(sql, { geofence: typeof ring === 'string' ? ring : polygon(sql, ring) }), name),
      );
    }
    const corner: [number, number][] = [
      [179, 89],
      [180, 89],
      [180, 90],
      [179, 90],
      [179, 89],
    ];
    await insertFarm(sql, { geofence: polygon(sql, SQUARE) });
    await insertFarm(sql, { geofence: polygon(sql, corner) });
    await insertFarm(sql, {
      geofence: `SRID=4326;POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 2 1, 2 2, 1 2, 1 1))`,
    });
    assert.equal(
      (await sql`SELECT count(geofence)::int AS n FROM farms`)[0]!.n,
      3,
      'valid fences are stored',
    );
  });
});

describe('migrations 0033 and 0034 on a database that holds bad coordinates', () => {
  test('0033 refuses, naming each table, constraint and the query listing the rows; nothing changed; fixed, it applies and 0034 validates', async (t) => {
    const db = await createTestDatabase({ migrated: false });
    t.after(() => db.drop());
    const { sql } = db;
    await migrate({ sql, dir: migrationsUpTo(t, 32) });
    const d = await device(sql);
    const [nan] = await insertScan(sql, d, point(sql, [Number.NaN, 43]));
    const [far] = await insertScan(sql, d, point(sql, [400, 95]));
    await insertScan(sql, d, point(sql, [-79.38, 43.65]));
    const [north] = await insertFarm(sql, { centroid: point(sql, [0, 95]), geofence: polygon(sql, SQUARE) });
    const [bowtie] = await insertFarm(sql, {
      geofence: polygon(sql, [
        [10, 10],
        [11, 11],
        [11, 10],
        [10, 11],
        [10, 10],
      ]),
    });
    const err = await migrate({ sql }).then(
      () => assert.fail('migrated over bad rows'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MigrationError, String(err));
    const message = err.message;
    assert.match(
      message,
      /^0033_geometry_checks\.sql failed: migration 0033: rows with coordinates the new constraints refuse/,
    );
    for (const expected of [
      '1 row(s) of scans violate scans_gps_finite',
      '1 row(s) of scans violate scans_gps_latitude_range',
      '2 row(s) of scans violate scans_gps_longitude_range', // NaN is in no range either
      '1 row(s) of farms violate farms_centroid_latitude_range',
      '1 row(s) of farms violate farms_geofence_valid',
    ]) {
      assert.ok(message.includes(expected), `${expected} in: ${message}`);
    }
    assert.doesNotMatch(
      message,
      /not_empty|farms_centroid_finite/,
      'only the constraints with rows are named',
    );
    assert.equal((err.cause as { code?: string }).code, '23514');
    assert.match((err.cause as { hint?: string }).hint ?? '', /set them to NULL.*migrate again/);
    const constraints = async () =>
      (
        await sql<{ conname: string; convalidated: boolean }[]>`
        SELECT conname, convalidated FROM pg_constraint
         WHERE contype = 'c' AND conname ~ '^(scans_gps|farms_centroid|farms_geofence)_'
         ORDER BY conname`
      ).map((r) => `${r.conname}${r.convalidated ? '' : ' NOT VALID'}`);
    assert.deepEqual(await constraints(), [], 'nothing was added');
    const [version] = await sql`SELECT max(version) AS v FROM schema_migrations`;
    assert.equal(version!.v, 32);

    // The queries the message gives list exactly the offending rows.
    const listed = async (name: string) => {
      const query = new RegExp(
        `violate ${name}; list them: (SELECT \\* FROM \\w+ WHERE NOT \\(.*?\\));`,
      ).exec(message)?.[1];
      assert.ok(query, `a query for ${name}`);
      return (await sql.unsafe<{ id: string }[]>(query)).map((r) => r.id);
    };
    assert.deepEqual(await listed('scans_gps_finite'), [nan!.id]);
    assert.deepEqual(await listed('scans_gps_latitude_range'), [far!.id]);
    assert.deepEqual((await listed('scans_gps_longitude_range')).sort(), [nan!.id, far!.id].sort());
    assert.deepEqual(await listed('farms_centroid_latitude_range'), [north!.id]);
    assert.deepEqual(await listed('farms_geofence_valid'), [bowtie!.id]);

    await sql`UPDATE scans SET gps = NULL WHERE id IN ${sql([nan!.id, far!.id])}`;
    await sql`UPDATE farms SET centroid = ${point(sql, [0, 85])} WHERE id = ${north!.id}`;
    await sql`UPDATE farms SET geofence = NULL WHERE id = ${bowtie!.id}`;
    const { applied } = await migrate({ sql });
    assert.deepEqual(applied, ['0033_geometry_checks.sql', '0034_geometry_checks_validated.sql']);
    assert.deepEqual(await constraints(), [
      'farms_centroid_finite',
      'farms_centroid_latitude_range',
      'farms_centroid_longitude_range',
      'farms_centroid_not_empty',
      'farms_geofence_finite',
      'farms_geofence_latitude_range',
      'farms_geofence_longitude_range',
      'farms_geofence_not_empty',
      'farms_geofence_valid',
      'scans_gps_finite',
      'scans_gps_latitude_range',
      'scans_gps_longitude_range',
      'scans_gps_not_empty',
    ]);
  });

  test('0034: a bad row that got past 0033 fails the validation with the named message', async (t) => {
    const db = await createTestDatabase({ migrated: false });
    t.after(() => db.drop());
    const { sql } = db;
    await migrate({ sql, dir: migrationsUpTo(t, 33) });
    const d = await device(sql);
    // The state of a row written between 0033's count and its lock: under a NOT VALID constraint.
    await sql`ALTER TABLE scans DROP CONSTRAINT scans_gps_longitude_range`;
    const [bad] = await insertScan(sql, d, point(sql, [-200, 10]));
    await sql`ALTER TABLE scans ADD CONSTRAINT scans_gps_longitude_range CHECK (ST_X(gps) BETWEEN -180 AND 180) NOT VALID`;
    const err = await migrate({ sql }).then(
      () => assert.fail('validated over a bad row'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof MigrationError, String(err));
    assert.match(
      err.message,
      /^0034_geometry_checks_validated\.sql failed: migration 0034: 1 row\(s\) of scans violate scans_gps_longitude_range; list them: SELECT \* FROM scans WHERE NOT \(.*st_x\(gps\).*\);$/,
    );
    const query = /list them: (.*);$/.exec(err.message)![1]!;
    assert.deepEqual(
      (await sql.unsafe<{ id: string }[]>(query)).map((r) => r.id),
      [bad!.id],
    );
    await sql`UPDATE scans SET gps = ${point(sql, [160, 10])} WHERE id = ${bad!.id}`;
    assert.deepEqual((await migrate({ sql })).applied, ['0034_geometry_checks_validated.sql']);
  });

  test('0034 validates while a writer holds its transaction open on scans and farms: no exclusive lock', async (t) => {
    const db = await createTestDatabase({ migrated: false, max: 4 });
    t.after(() => db.drop());
    const { sql } = db;
    await migrate({ sql, dir: migrationsUpTo(t, 33) });
    const d = await device(sql);
    await insertScan(sql, d, point(sql, [1, 1]));
    const writer = await sql.reserve();
    t.after(() => writer.release());
    await writer`BEGIN`;
    await insertScan(writer, d, point(writer, [2, 2]));
    await insertFarm(writer, { centroid: point(writer, [3, 3]) });
    // An ACCESS EXCLUSIVE lock would wait for this transaction: each attempt gives up after lock_timeout.
    const { applied } = await migrate({ sql, lockTimeoutMs: 3000, lockAttempts: 1 });
    assert.deepEqual(applied, ['0034_geometry_checks_validated.sql']);
    await writer`COMMIT`;
    const [row] = await sql`SELECT count(*)::int AS n FROM pg_constraint
                              WHERE conrelid IN ('scans'::regclass, 'farms'::regclass) AND contype = 'c' AND NOT convalidated`;
    assert.equal(row!.n, 0);
  });
});
