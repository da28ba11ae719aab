/**
 * Whether `text` starts with a YYYY-MM-DD that is a day of the calendar. `new Date('2025-02-30')` and
 * `Date.parse` read an impossible day as another one (2 March), so a command-line date checked only by
 * `Date` would silently mean a day the operator never wrote.
 *
 * @example startsWithCalendarDate('2024-02-29T10:00:00Z') // true
 * @example startsWithCalendarDate('2025-02-30') // false
 */
export function startsWithCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it reads years 0–99 as 1900–1999
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}
