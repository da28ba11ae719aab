import type { Db, Fragment } from '../access/farm-access.ts';

// What the two exports written by Postgres share (csv-sql.ts, geojson-sql.ts): which numbers Postgres
// prints as JavaScript does, and the statement that hands each row to the stream as its written line
// or, when Postgres cannot write it exactly, as its JSON for the Node writer.

/**
 * Whether Postgres writes this float8 as JavaScript's String(x) does: missing, zero (Postgres writes
 * -0 as `-0`, JavaScript as `0`: sqlNumberText writes `0`), or from 1e-4 to 1e15, where both write the
 * shortest digits that read back as the same number, in plain notation. Outside that range Postgres
 * writes `1.5e-05` where JavaScript writes `0.000015`, `1e+15` for `1000000000000000`, and large
 * numbers with more digits than JavaScript (`7.2079999999999996e+22` for `7.208e+22`); NaN and
 * ±Infinity are left to Node too (an empty CSV cell, JSON null). No measurement, position or score
 * comes near those.
 */
export const sqlNumberWritable = (sql: Db, value: Fragment): Fragment =>
  sql`(${value} IS NULL OR ${value} = 0 OR (abs(${value}) >= 1e-4 AND abs(${value}) < 1e15))`;

/** String(x) in SQL for a value sqlNumberWritable accepts (NULL when missing). */
export const sqlNumberText = (sql: Db, value: Fragment): Fragment =>
  sql`(CASE WHEN ${value} = 0 THEN '0' ELSE ${value}::text END)`;

/**
 * Each row of `rows` (a statement ending in its ORDER BY), in its order, as `line` — text written by
 * Postgres from the row `r`, NULL where it cannot write it exactly — when `ok` (an expression of that
 * `line`) holds; otherwise as `row`, the row's JSON (row_to_json, read back by parseExportRow), for the
 * Node writer. The stream then decodes one text column per row instead of some thirty.
 *
 * Each level is a subquery kept apart by OFFSET 0, so each value is computed once (the planner would
 * otherwise copy an expression into every place the next level uses it). No level above `rows` joins
 * or sorts: the planner then plans `rows` for the fraction a cursor reads first (walking the index in
 * order, no sort of the whole selection before the first line), and the rows come out of each level in
 * the order they went in — an ORDER BY up here would sort them all again.
 */
export function sqlLinesOrRows(
  sql: Db,
  rows: Fragment,
  { line, ok = sql`line IS NOT NULL` }: { line: Fragment; ok?: Fragment },
): Fragment {
  return sql`
    SELECT CASE WHEN ok THEN line END AS line, CASE WHEN ok IS NOT TRUE THEN row_to_json(l)::text END AS row
      FROM (SELECT r.*, ${ok} AS ok
              FROM (SELECT r.*, ${line} AS line
                      FROM (${rows} OFFSET 0) r OFFSET 0) r OFFSET 0) l`;
}
