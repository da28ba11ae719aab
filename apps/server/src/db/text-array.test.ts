import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cti/db/testing';
import type { Sql } from 'postgres';
import { createDatabaseClient } from './database-client.ts';
import { parseTextArray } from './text-array.ts';

// The server's pools read text[] and varchar[] as Postgres means them: a NULL item is null, the text
// 'NULL' is 'NULL' (postgres.js 3.4.9 alone read both as 'NULL', porsager/postgres#1124). Postgres'
// own array_to_json is the reference: it writes a NULL item as null and every text exactly.

let db: TestDatabase;
let sql: Sql;
before(async () => {
  db = await createTestDatabase();
  sql = createDatabaseClient({ url: db.url, max: 2, connectTimeoutSeconds: 5 });
});
after(async () => {
  await sql.end({ timeout: 5 });
  await db.drop();
});

const AWKWARD = [
  'NULL',
  'null',
  'Null',
  ' NULL',
  'NULL ',
  '',
  ' ',
  'a,b',
  '{a}',
  '}',
  '"',
  '""',
  '\\',
  '\\"',
  'a\\,b',
  'tab\there',
  'line\nbreak',
  'é ü 牛 🐄',
  '[0:1]={x}',
  'plain',
];

/** Reads `expr` through the pool, and Postgres' JSON of it: what the items really are. */
async function read(expr: string) {
  const [row] = await sql.unsafe<{ value: unknown; json: string | null }[]>(
    `SELECT ${expr} AS value, array_to_json(${expr})::text AS json`,
  );
  return { value: row!.value, truth: row!.json === null ? null : JSON.parse(row!.json) };
}

test("a NULL item reads as null and the text 'NULL' as 'NULL' (text[] and varchar[])", async () => {
  const { value } = await read(`ARRAY['a', NULL, 'NULL']::text[]`);
  assert.deepEqual(value, ['a', null, 'NULL']);
  assert.deepEqual((await read(`ARRAY[NULL, 'NULL', 'b']::varchar[]`)).value, [null, 'NULL', 'b']);
  assert.deepEqual((await read(`ARRAY[NULL]::text[]`)).value, [null]);
});

test('every awkward text, NULLs, nested and empty arrays, a lower bound other than 1: as Postgres has them', async () => {
  const literal = (s: string | null) => (s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`);
  const items = [...AWKWARD, null];
  const cases = [
    `ARRAY[${items.map(literal).join(', ')}]::text[]`,
    `ARRAY[${items.map(literal).join(', ')}]::varchar[]`,
    `ARRAY[${items.map(literal).join(', ')}]::varchar(40)[]`,
    `ARRAY[[NULL, 'NULL'], ['a,b', NULL]]::text[]`,
    `ARRAY[[['x']], [[NULL]]]::text[]`,
    `'{}'::text[]`,
    `NULL::text[]`,
    `'[0:2]={a,NULL,"NULL"}'::text[]`,
    `'[-3:-2][1:1]={{x},{NULL}}'::text[]`,
    `(SELECT array_agg(v ORDER BY i) FROM unnest(ARRAY['a', NULL, 'b']) WITH ORDINALITY AS u(v, i))`,
  ];
  for (const expr of cases) {
    const { value, truth } = await read(expr);
    assert.deepEqual(value, truth, expr);
  }
});

test('text[] parameters are written as before: every item, NULLs and nesting arrive as sent', async () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pieces = [...AWKWARD, 'x', 'NULL', ',', '"', '\\', '{', '}', ' '];
  const arrays: (string | null)[][] = Array.from({ length: 200 }, () =>
    Array.from({ length: Math.floor(random() * 6) }, () =>
      random() < 0.15
        ? null
        : Array.from(
            { length: 1 + Math.floor(random() * 3) },
            () => pieces[Math.floor(random() * pieces.length)],
          ).join(''),
    ),
  );
  for (const sent of arrays) {
    const [row] = await sql<{ back: (string | null)[]; json: string; n: number }[]>`
      SELECT ${sent}::text[] AS back, coalesce(array_to_json(${sent}::text[])::text, '[]') AS json,
             coalesce(cardinality(${sent}::text[]), 0) AS n`;
    assert.deepEqual(row!.back, sent, JSON.stringify(sent));
    assert.deepEqual(JSON.parse(row!.json), sent, 'Postgres holds the same items');
    assert.equal(row!.n, sent.length);
  }
  const nested = [
    ['a', null],
    ['NULL', '"'],
  ];
  const [row] = await sql<{ back: unknown }[]>`SELECT ${nested}::text[] AS back`;
  assert.deepEqual(row!.back, nested);
  await assert.rejects(sql`SELECT ${['a', undefined as unknown as string]}::text[]`, {
    code: 'UNDEFINED_VALUE',
  });
});

test('a text that is not an array literal is an error naming where', () => {
  for (const [bad, where] of [
    ['a,b', /expected '\{' at character 1/],
    ['{a', /expected ',' or '\}' at character 3/],
    ['{"a}', /expected a closing '"' at character 5/],
    ['{a}x', /expected the end at character 4/],
    ['{a,}', /expected an item at character 4/],
    ['[1:2]{a}', /expected '=' after the dimensions/],
  ] as const) {
    assert.throws(() => parseTextArray(bad), where, bad);
  }
});
