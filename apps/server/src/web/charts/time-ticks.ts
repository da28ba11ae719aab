import { localDayBounds, localParts } from '../time/format-local.ts';

export type TimeTicks = { values: number[]; labels: string[]; unit: 'hour' | 'day' | 'month' };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const HOUR_STEPS = [1, 2, 3, 6, 12];
const DAY_STEPS = [1, 2, 7, 14];
const MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60];

/**
 * About `target` ticks on a time axis, placed on the farm's local calendar — hours of the day, local
 * midnights, the first of a month — not on UTC boundaries, and labelled in that zone.
 *
 * @example timeTicks(Date.parse('2025-01-01'), Date.parse('2025-06-30'), 'America/Regina')
 */
export function timeTicks(minMs: number, maxMs: number, timeZone: string, target = 6): TimeTicks {
  const span = Math.max(maxMs - minMs, HOUR);
  const fits = (stepMs: number) => span / stepMs <= target;
  const hours = HOUR_STEPS.find((h) => fits(h * HOUR));
  if (hours) return hourTicks(minMs, maxMs, timeZone, hours);
  const days = DAY_STEPS.find((d) => fits(d * DAY));
  if (days) return dayTicks(minMs, maxMs, timeZone, days);
  const months = MONTH_STEPS.find((m) => fits(m * 30.44 * DAY)) ?? 120;
  return monthTicks(minMs, maxMs, timeZone, months);
}

const isoDay = (y: number, m: number, d: number) =>
  new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10);

function hourTicks(minMs: number, maxMs: number, tz: string, step: number): TimeTicks {
  const p = localParts(minMs, tz);
  let t = localDayBounds(isoDay(p.year, p.month, p.day), tz).start.getTime();
  const values: number[] = [];
  for (; t <= maxMs; t += HOUR) {
    const h = localParts(t, tz);
    if (t >= minMs && h.minute === 0 && h.hour % step === 0) values.push(t);
  }
  const label = (t: number) => {
    const h = localParts(t, tz);
    return `${String(h.hour).padStart(2, '0')}:00`;
  };
  return { values, labels: values.map(label), unit: 'hour' };
}

function dayTicks(minMs: number, maxMs: number, tz: string, step: number): TimeTicks {
  const p = localParts(minMs, tz);
  const values: number[] = [];
  for (let i = 0; ; i++) {
    const t = localDayBounds(isoDay(p.year, p.month, p.day + i), tz).start.getTime();
    if (t > maxMs) break;
    if (t >= minMs && (step !== 7 || localWeekday(t, tz) === 1) && (step === 7 || i % step === 0))
      values.push(t);
  }
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone: tz, month: 'short', day: 'numeric' });
  return { values, labels: values.map((t) => fmt.format(t)), unit: 'day' };
}

function monthTicks(minMs: number, maxMs: number, tz: string, step: number): TimeTicks {
  const p = localParts(minMs, tz);
  const values: number[] = [];
  for (let i = 0; ; i++) {
    const monthIndex = p.year * 12 + (p.month - 1) + i;
    const [y, m] = [Math.floor(monthIndex / 12), (monthIndex % 12) + 1];
    const t = localDayBounds(isoDay(y, m, 1), tz).start.getTime();
    if (t > maxMs) break;
    if (t >= minMs && (m - 1) % Math.min(step, 12) === 0 && (step <= 12 || y % (step / 12) === 0))
      values.push(t);
  }
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    ...(step >= 12 ? { year: 'numeric' } : { month: 'short', year: 'numeric' }),
  });
  return { values, labels: values.map((t) => fmt.format(t)), unit: 'month' };
}

// Monday = 1 … Sunday = 7, in the farm's zone.
function localWeekday(t: number, tz: string): number {
  const p = localParts(t, tz);
  return ((new Date(Date.UTC(p.year, p.month - 1, p.day)).getUTCDay() + 6) % 7) + 1;
}
