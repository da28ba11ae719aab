import type { Db, Fragment } from '../access/farm-access.ts';
import { sqlLinesOrRows } from './export-sql.ts';

// The cells of csv.ts written by Postgres, byte for byte the same, for the lines where that is simple
// and certain — nearly all of them: a streamed CSV export then receives one text column per row (its
// line) instead of decoding some thirty columns and formatting them in Node (bench:api,
// apps/server/README.md "Reports and exports"). The few others come to Node as their row, for csv.ts.
// Numbers are export-sql.ts's (sqlNumberText: numberCell where sqlNumberWritable holds, NULL → empty).
// csv-sql.test.ts compares both ways over awkward values.

/** textCell in SQL, before quoting: a text that starts like a formula (= + - @, tab, CR) gets a leading `'`. */
export const sqlTextCell = (sql: Db, value: Fragment): Fragment =>
  sql`(CASE WHEN ascii(${value}::text) IN (61, 43, 45, 64, 9, 13) THEN '''' || ${value}::text ELSE ${value}::text END)`;

/** booleanCell in SQL: `true` / `false`, NULL (empty) when missing. */
export const sqlBooleanCell = (sql: Db, value: Fragment): Fragment =>
  sql`(CASE WHEN ${value} THEN 'true' WHEN NOT ${value} THEN 'false' END)`;

/** A list cell: the items joined by `;` (a NULL item as an empty one, as Array#join), then as text. */
export const sqlListCell = (sql: Db, value: Fragment): Fragment =>
  sqlTextCell(sql, sql`array_to_string(${value}, ';', '')`);

/**
 * Each row of `rows` (a statement ending in its ORDER BY), in its order, as `line` — csvRecord(cells)
 * without its CRLF, `cells` (made by the functions above) reading the row as `r` — or, when Postgres
 * cannot write it exactly, as `row`, the row's JSON, for csv.ts (sqlLinesOrRows, export-sql.ts). `line`
 * is the joined cells when every number passes `writable` (sqlNumberWritable) and the joined line holds
 * no double quote, CR or LF and exactly one comma fewer than cells: then no cell needs quoting (RFC 4180
 * §2.6–2.7), which one look at the line tells, not one per cell. Anything else — a cell with a comma, a
 * quote or a line break (a device label on two lines), a number out of range — is the row: rare, and
 * csv.ts already quotes.
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
  return sqlLinesOrRows(sql, rows, {
    line: sql`CASE WHEN ${writable} THEN ${joined}) END`,
    ok: sql`strpos(line, '"') = 0 AND strpos(line, E'\\n') = 0 AND strpos(line, E'\\r') = 0
            AND octet_length(line) - octet_length(replace(line, ',', '')) = ${cells.length - 1}::int`,
  });
}
