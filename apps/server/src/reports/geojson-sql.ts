import type { Db, Fragment } from '../access/farm-access.ts';
import { sqlNumberText } from './export-sql.ts';

// JSON values written by Postgres byte for byte as JSON.stringify writes them, for the GeoJSON export's
// features (export-columns.ts sqlGeoJsonFeature: a streamed export then receives one text column per
// row instead of decoding some thirty columns and stringifying them in Node). Numbers are
// export-sql.ts's: where sqlNumberWritable does not hold, the row goes to Node. Text never needs to:
// Postgres's escape_json (to_json of a text) escapes exactly as JSON.stringify does — `"` and `\` with a
// backslash, \b \f \n \r \t, every other character below U+0020 as \u00xx in lowercase hex, everything
// else as it is (DEL, U+2028/2029, emoji); JSON.stringify also escapes lone surrogates, which a UTF-8
// database cannot hold. (In a SQL_ASCII one, bytes that are not UTF-8 would pass as they are where Node
// decodes U+FFFD: the CSV's lines assume UTF-8 too.) geojson-sql.test.ts compares both ways over every
// character and awkward values.

/** A text as a JSON string (`null` when missing). */
export const sqlJsonString = (sql: Db, value: Fragment): Fragment =>
  sql`coalesce(to_json(${value}::text)::text, 'null')`;

/**
 * A text that never needs escaping (a uuid, a time written by to_char: digits, letters, `-:.`) as a
 * JSON string, without to_json's work (`null` when missing).
 */
export const sqlJsonPlainString = (sql: Db, value: Fragment): Fragment =>
  sql`coalesce('"' || ${value}::text || '"', 'null')`;

/** A number for which sqlNumberWritable holds, as JSON.stringify writes it (`null` when missing). */
export const sqlJsonNumber = (sql: Db, value: Fragment): Fragment =>
  sql`coalesce(${sqlNumberText(sql, value)}, 'null')`;

/** `true` / `false` / `null`. */
export const sqlJsonBoolean = (sql: Db, value: Fragment): Fragment =>
  sql`(CASE WHEN ${value} THEN 'true' WHEN NOT ${value} THEN 'false' ELSE 'null' END)`;

/**
 * A text[] as a JSON array of strings (`null` when missing), a NULL item as `null`. Two cases where this
 * is not what the Node writer wrote from postgres.js's rows, neither made by any writer of the export's
 * one list (grade_reasons: reason codes from the grader and from corrections, 1-based, never NULL):
 * postgres.js decodes a NULL item as the text `NULL`, and an array with other bounds (`[2:3]={a,b}`) as
 * a list in a list, where array_to_json drops the bounds. geojson-sql.test.ts pins both.
 */
export const sqlJsonList = (sql: Db, value: Fragment): Fragment =>
  sql`coalesce(array_to_json(${value}::text[])::text, 'null')`;

/**
 * A JSON object of these members, in this order (JSON.stringify's: the order the keys were set), each
 * value a JSON text made by the functions above — never NULL.
 */
export function sqlJsonObject(sql: Db, members: readonly (readonly [string, Fragment])[]): Fragment {
  const parts = members.map(([key, value], i) => {
    const name = `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`;
    return sql`${name}::text, ${value}`;
  });
  return parts.length === 0
    ? sql`'{}'`
    : sql`concat(${parts.reduce((acc, part) => sql`${acc}, ${part}`)}, '}')`;
}
