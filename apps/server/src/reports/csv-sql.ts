import type { Db, Fragment } from '../access/farm-access.ts';

// The cells of csv.ts written by Postgres, byte for byte the same, for the lines where that is simple
// and certain — nearly all of them: a streamed CSV export then receives one text column per row (its
// line) instead of decoding some thirty columns and formatting them in Node (bench:api,
// apps/server/README.md "Reports and exports"). The few others come to Node as their row, for csv.ts.
// csv-sql.test.ts compares both ways over awkward values.

/** textCell in SQL, before quoting: a text that starts like a formula (= + - @, tab, CR) gets a leading `'`. */
export const sqlTextCell = (sql: Db, value: Fragment): Fragment =>
  sql`(CASE WHEN ascii(${value}::text) IN (61, 43, 45, 64, 9, 13) THEN '''' || ${value}::text ELSE ${value}::text END)`;

/**
 * Whether Postgres writes this float8 as numberCell does: missing, zero (Postgres writes -0 as `-0`,
 * JavaScript as `0`: sqlNumberCell writes `0`), or from 1e-4 to 1e15, where both write the shortest
 * digits that read back as the same number, in plain notation. Outside that range Postgres writes
 * `1.5e-05` where JavaScript writes `0.000015`, `1e+15` for `1000000000000000`, and large numbers with
 * more digits than JavaScript (`7.2079999999999996e+22` for `7.208e+22`); NaN and ±Infinity are empty
 * cells in csv.ts. No measurement, position or score comes near those.
 */
export const sqlNumberWritable = (sql: Db, value: Fragment): Fragment =>
  sql`(${value} IS NULL OR ${value} = 0 OR (abs(${value}) >= 1e-4 AND abs(${value}) < 1e15))`;

/** numberCell in SQL for a value sqlNumberWritable accepts (NULL: an empty cell). */
export const sqlNumberCell = (sql: Db, value: Fragment): Fragment =>
  sql`(CASE WHEN ${value} = 0 THEN '0' ELSE ${value}::text END)`;

/** booleanCell in SQL: `true` / `false`, NULL (empty) when missing. */
export const sqlBooleanCell = (sql: Db, value: Fragment): Fragment =>
  sql`(CASE WHEN ${value} THEN 'true' WHEN NOT ${value} THEN 'false' END)`;

/** A list cell: the items joined by `;` (a NULL item as an empty one, as Array#join), then as text. */
export const sqlListCell = (sql: Db, value: Fragment): Fragment =>
  sqlTextCell(sql, sql`array_to_string(${value}, ';', '')`);

/**
 * Each row of `rows` (a statement ending in its ORDER BY), in its order, as `line` — csvRecord(cells)
 * without its CRLF, `cells` (made by the functions above) reading the row as `r` — or, when Postgres
 * cannot write it exactly, as `row`, the row's JSON (row_to_json), for csv.ts. `line` is the joined
 * cells when every number passes `writable` and the joined line holds no double quote, CR or LF and
 * exactly one comma fewer than cells: then no cell needs quoting (RFC 4180 §2.6–2.7), which one look at
 * the line tells, not one per cell. Anything else — a cell with a comma, a quote or a line break (a
 * device label on two lines), a number out of range — is the row: rare, and csv.ts already quotes.
 *
 * Each level is a subquery kept apart by OFFSET 0, so each value is computed once (the planner would
 * otherwise copy an expression into every place the next level uses it). No level above `rows` joins
 * or sorts: the planner then plans `rows` for the fraction a cursor reads first (walking the index in
 * order, no sort of the whole selection before the first line), and the rows come out of each level in
 * the order they went in — an ORDER BY up here would sort them all again.
 */
export function sqlCsvLines(
  sql: Db,
  rows: Fragment,
  { cells, writable }: { cells: readonly Fragment[]; writable: Fragment },
): Fragment {
  const joined = cells.reduce(
    (acc, cell, i) => (i === 0 ? sql`concat(${cell}` : sql`${acc}, ',', ${cell}`),
    sql``,
  );
  return sql`
    SELECT CASE WHEN ok THEN line END AS line, CASE WHEN ok IS NOT TRUE THEN row_to_json(l)::text END AS row
      FROM (SELECT r.*, strpos(line, '"') = 0 AND strpos(line, E'\\n') = 0 AND strpos(line, E'\\r') = 0
                        AND octet_length(line) - octet_length(replace(line, ',', '')) = ${cells.length - 1}::int AS ok
              FROM (SELECT r.*, CASE WHEN ${writable} THEN ${joined}) END AS line
                      FROM (${rows} OFFSET 0) r OFFSET 0) r OFFSET 0) l`;
}
