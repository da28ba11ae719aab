// Times are stored and exported in UTC; people read them in the farm's local time. Everything here goes
// through Intl with an explicit `timeZone`, so the server's own TZ never leaks into what is shown.

export type LocalTimeStyle = 'datetime' | 'date' | 'time' | 'datetime-seconds';

export type FormatLocalOptions = {
  style?: LocalTimeStyle;
  /** Add the zone's short name ("EDT", "GMT+2"); on by default for times, off for plain dates. */
  zoneName?: boolean;
};

const formatters = new Map<string, Intl.DateTimeFormat>();

// One formatter per zone (and seconds/zone-name variant), reused: creating Intl formatters is slow.
function formatter(timeZone: string, seconds: boolean, zoneName: boolean): Intl.DateTimeFormat {
  const key = `${timeZone}|${seconds}|${zoneName}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      ...(seconds ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
      ...(zoneName ? { timeZoneName: 'short' } : {}),
    });
    formatters.set(key, f);
  }
  return f;
}

export type LocalParts = {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  zone: string;
};

/** The wall-clock fields of `utc` in `timeZone` (throws RangeError for an unknown zone). */
export function localParts(utc: Date | string | number, timeZone: string): LocalParts {
  const date = toDate(utc);
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone, true, true).formatToParts(date)) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    zone: parts.timeZoneName ?? timeZone,
  };
}

/**
 * `utc` as the wall-clock time in `timeZone`, ISO-like so it sorts and reads the same everywhere:
 * "2025-09-09 10:18 EDT" (datetime), "2025-09-09" (date), "10:18 EDT" (time).
 *
 * @example formatLocal('2025-09-09T14:18:32Z', 'America/Toronto') // "2025-09-09 10:18 EDT"
 */
export function formatLocal(
  utc: Date | string | number,
  timeZone: string,
  { style = 'datetime', zoneName = style !== 'date' }: FormatLocalOptions = {},
): string {
  const p = localParts(utc, timeZone);
  const date = `${p.year}-${pad(p.month)}-${pad(p.day)}`;
  const time = `${pad(p.hour)}:${pad(p.minute)}${style === 'datetime-seconds' ? `:${pad(p.second)}` : ''}`;
  const zone = zoneName ? ` ${p.zone}` : '';
  if (style === 'date') return `${date}${zone}`;
  if (style === 'time') return `${time}${zone}`;
  return `${date} ${time}${zone}`;
}

/** Minutes `timeZone` is ahead of UTC at the instant `utc` (e.g. -240 for EDT, +330 for India). */
export function offsetMinutes(utc: Date | string | number, timeZone: string): number {
  const date = toDate(utc);
  const p = localParts(date, timeZone);
  const asUtc = utcTime(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `text` is a real calendar day written YYYY-MM-DD (2025-02-30 is not). */
export function isDay(text: string): boolean {
  const m = DAY.exec(text);
  if (!m) return false;
  const d = new Date(utcTime(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().startsWith(text);
}

// Days a report or a filter can count: years below 100 are not computed as written (Date.UTC reads 0050 as 1950)
// and the end of 9999-12-31 is in year 10000, which Postgres cannot read back (it answered 500).
const FIRST_DAY = '0100-01-01';
const LAST_DAY = '9999-12-30';

/** Why `text` cannot be a report's or a filter's day, or null when it can: `dayProblem('2025-02-30')` → "must be…". */
export function dayProblem(text: string): string | null {
  return outOfDayRange(text) ?? (isDay(text) ? null : 'must be a day written YYYY-MM-DD');
}

/** For a day written YYYY-MM-DD: why localDayBounds cannot take it, or null. */
export function outOfDayRange(text: string): string | null {
  return DAY.test(text) && (text < FIRST_DAY || text > LAST_DAY)
    ? `must be a day from ${FIRST_DAY} to ${LAST_DAY}`
    : null;
}

/**
 * The UTC instants that bound the local calendar day `day` ("YYYY-MM-DD") in `timeZone`: [start, end).
 * A DST day is 23 or 25 hours long; "one farm, one day" reports query with these bounds. A day it
 * cannot compute as written (dayProblem: not a calendar day, outside 0100-01-01..9999-12-30) throws a
 * RangeError naming it, rather than answering another day (Date.UTC reads 0050 as 1950).
 */
export function localDayBounds(day: string, timeZone: string): { start: Date; end: Date } {
  return { start: localDayBound(day, timeZone, 'start'), end: localDayBound(day, timeZone, 'end') };
}

/**
 * One bound of localDayBounds: `start` or `end` alone costs half (each bound is a few Intl lookups;
 * a report's period needs the start of its first day and the end of its last).
 */
export function localDayBound(day: string, timeZone: string, edge: 'start' | 'end'): Date {
  const m = DAY.exec(day);
  const problem = dayProblem(day);
  if (!m || problem) throw new RangeError(`${day}: ${problem ?? 'must be a day written YYYY-MM-DD'}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return localMidnight(y, mo, edge === 'start' ? d : d + 1, timeZone);
}

// The first instant whose local date is y-mo-d. Midnight minus the offset is right on most days; the
// offset there may differ from the offset at the answer (a DST change near midnight, zones that skip
// midnight or have it twice), so walk to the first instant of the day in 15-minute steps, the
// granularity of every modern UTC offset.
function localMidnight(y: number, mo: number, d: number, timeZone: string): Date {
  const wall = utcTime(y, mo - 1, d);
  const dayOf = (t: number) => utcTime(...ymd(localParts(t, timeZone)));
  let t = wall - offsetMinutes(wall, timeZone) * 60_000;
  while (dayOf(t - STEP_MS) >= wall) t -= STEP_MS;
  while (dayOf(t) < wall) t += STEP_MS;
  return new Date(t);
}

const STEP_MS = 15 * 60_000;

/**
 * Date.UTC with the year as written: Date.UTC reads 0–99 as 1900–1999, so the day before 0100-01-01
 * came out as 1999-12-31 and localDayBounds('0100-01-01') walked back forever.
 */
function utcTime(y: number, month0: number, d: number, h = 0, mi = 0, s = 0): number {
  const t = new Date(Date.UTC(2000, 0, 1, h, mi, s));
  t.setUTCFullYear(y, month0, d);
  return t.getTime();
}
const ymd = (p: LocalParts): [number, number, number] => [p.year, p.month - 1, p.day];

/** The UTC ISO 8601 string used in `<time datetime>`, CSV and GeoJSON ("2025-09-09T14:18:32Z"). */
export function toUtcIso(utc: Date | string | number): string {
  return toDate(utc).toISOString().replace('.000Z', 'Z');
}

function toDate(value: Date | string | number): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a time: ${String(value)}`);
  return date;
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * A form's `datetime-local` value ("2026-12-05T08:30", seconds optional; a space for the "T" as people
 * type it where the browser shows a plain text box) read as the wall clock of
 * `timeZone`, as a UTC RFC 3339 time; undefined when it is not such a value. In a gap of a spring clock
 * change the time an hour on (02:30 → 03:30 in the new offset), in an autumn overlap the earlier of the
 * two, in every zone.
 *
 * @example utcOfLocal('2026-07-01T08:30', 'America/Toronto') // "2026-07-01T12:30:00.000Z"
 */
export function utcOfLocal(local: string, timeZone: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local.trim());
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = utcTime(y, mo - 1, d, h, mi, s);
  const back = new Date(wall);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  // The zone's offset a day either side (a clock change lies between them, or none): the instant is
  // `wall` read with one of them. Both fit: an overlap (or no change), the earlier. Neither fits: a gap,
  // read with the offset before it, which is the wall time an hour on in the offset after it, east or
  // west of UTC alike (review r17 F3).
  const offsetAt = (t: number) => offsetMinutes(t, timeZone) * 60_000;
  const before = wall - offsetAt(wall - DAY_MS);
  const after = wall - offsetAt(wall + DAY_MS);
  const fits = [before, after].filter((t) => offsetAt(t) === wall - t);
  return new Date(fits.length > 0 ? Math.min(...fits) : before).toISOString();
}

const DAY_MS = 86_400_000;
