// postgres.js 3.4.9 reads a NULL item of a text[] as the string 'NULL': its array parser forgets
// whether an item was quoted, and Postgres writes a NULL item as a bare NULL and the text 'NULL' as
// "NULL" (`SELECT ARRAY['a', NULL]::text[]` came back as ['a', 'NULL']). Reported upstream as
// porsager/postgres#1124 ("nulls in result of array_agg are parsed to the string literal 'NULL'
// rather than the JS null"), open, no fix in 3.4.9; the workaround is a parser of our own for the
// array types we read, given to the client as a custom type (createDatabaseClient). It also reads a non-default lower bound
// ('[0:1]={a,b}', which postgres.js nested one level too deep) as the plain list of items.

/** Type oids: text[] and varchar[] (Postgres' pg_type, fixed since 8.x). */
export const TEXT_ARRAY_OIDS = [1009, 1015] as const;

export type TextArray = (string | null | TextArray)[];

/** Parse state: the text and a cursor into it. */
type Cursor = { text: string; at: number };

/**
 * A text[] or varchar[] as Postgres writes it (array_out) → nested arrays of strings, a bare NULL item
 * → null, a quoted "NULL" → 'NULL'. Throws on text that is not an array literal, naming where.
 *
 * @example parseTextArray('{a,NULL,"NULL"}') // ['a', null, 'NULL']
 */
export function parseTextArray(text: string): TextArray {
  const c: Cursor = { text, at: 0 };
  // Dimension decoration, written when a lower bound is not 1: "[0:1]={a,b}".
  if (text.startsWith('[')) {
    const eq = text.indexOf('=');
    if (eq < 0) throw malformed(c, "'=' after the dimensions");
    c.at = eq + 1;
  }
  const out = list(c);
  if (c.at !== text.length) throw malformed(c, 'the end');
  return out;
}

function list(c: Cursor): TextArray {
  if (c.text[c.at] !== '{') throw malformed(c, "'{'");
  c.at++;
  const items: TextArray = [];
  if (c.text[c.at] === '}') {
    c.at++;
    return items;
  }
  for (;;) {
    const ch = c.text[c.at];
    items.push(ch === '{' ? list(c) : ch === '"' ? quoted(c) : bare(c));
    const next = c.text[c.at++];
    if (next === '}') return items;
    if (next !== ',') {
      c.at--;
      throw malformed(c, "',' or '}'");
    }
  }
}

function quoted(c: Cursor): string {
  let out = '';
  for (c.at++; c.at < c.text.length; c.at++) {
    const ch = c.text[c.at];
    if (ch === '"') {
      c.at++;
      return out;
    }
    out += ch === '\\' ? c.text[++c.at] : ch;
  }
  throw malformed(c, "a closing '\"'");
}

/** An unquoted item: never escaped (array_out quotes any item that would need it), NULL when bare. */
function bare(c: Cursor): string | null {
  const start = c.at;
  while (c.at < c.text.length && c.text[c.at] !== ',' && c.text[c.at] !== '}') c.at++;
  const item = c.text.slice(start, c.at);
  if (item === '') throw malformed(c, 'an item');
  return item === 'NULL' ? null : item;
}

const malformed = (c: Cursor, expected: string) =>
  new Error(
    `not a text[] literal: expected ${expected} at character ${c.at + 1} of ${JSON.stringify(c.text.slice(0, 200))}`,
  );

/**
 * A parameter for a text[] or varchar[], written as postgres.js writes it (its arraySerializer with the
 * text serializer): every item quoted and escaped, null as NULL, nested arrays nested, a string passed
 * through as an array literal. Given with the parser because postgres.js keeps its own array handling
 * for a type only when both are missing.
 */
export function serializeTextArray(value: unknown): string {
  if (!Array.isArray(value)) return value as string;
  if (value.length === 0) return '{}';
  const first = value[0] as { type?: unknown } | null;
  if (Array.isArray(first) && !first.type) return `{${value.map(serializeTextArray).join(',')}}`;
  return `{${value.map(item).join(',')}}`;
}

function item(x: unknown): string {
  if (x === undefined) {
    throw Object.assign(new Error('Undefined values are not allowed'), { code: 'UNDEFINED_VALUE' });
  }
  if (x === null) return 'null';
  // A postgres.js typed parameter (sql.typed) carries its value.
  const v = (x as { type?: unknown }).type ? (x as { value: unknown }).value : x;
  return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * postgres.js `types` option entry: text[] and varchar[] read by parseTextArray.
 *
 * @example postgres(url, { types: { textArray: textArrayType } })
 */
export const textArrayType = {
  to: TEXT_ARRAY_OIDS[0],
  from: [...TEXT_ARRAY_OIDS],
  serialize: serializeTextArray,
  parse: parseTextArray,
};
