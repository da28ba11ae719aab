// RFC 4180 CSV cells and records, safe to open in a spreadsheet.

/** Characters that make a spreadsheet read a text cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A text cell: a value that starts like a formula (= + - @, tab, carriage return) gets a leading
 * apostrophe, which spreadsheets show as text and never evaluate. Only for text we did not produce
 * ourselves (names, tags, labels); numbers go through `numberCell` so a negative longitude stays a number.
 */
export function textCell(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return quote(FORMULA_START.test(value) ? `'${value}` : value);
}

/** A number as JavaScript writes it (no grouping, `.` decimal point); missing → empty, never 0. */
export function numberCell(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
}

/** `true` / `false`; missing → empty. */
export function booleanCell(value: boolean | null | undefined): string {
  return value === null || value === undefined ? '' : String(value);
}

/**
 * RFC 4180 §2.6–2.7: a field holding a comma, a double quote, CR or LF is enclosed in double quotes,
 * and each double quote inside is doubled.
 */
function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One record: the cells joined by commas, ended by CRLF (RFC 4180 §2.1). */
export const csvRecord = (cells: readonly string[]): string => `${cells.join(',')}\r\n`;
