/**
 * A time in which this process could not hear devices (every heartbeat failed): before its first check
 * (`from` null), or from its last check that reached the database to the first that reached it again.
 * Database times.
 */
export type DeafPeriod = { from: Date | null; to: Date };

/** Beyond this many periods the two oldest merge: the time between them counts as deaf too. */
const MAX_PERIODS = 32;

/**
 * `deaf` with `period` added: joined to the last one when they touch (a check that reached the database
 * and then lost it is no time of listening). A merge past MAX_PERIODS only delays a silence, never
 * invents one.
 */
export function addDeafPeriod(deaf: DeafPeriod[], period: DeafPeriod): DeafPeriod[] {
  const last = deaf.at(-1);
  const next =
    last && period.from && period.from.getTime() <= last.to.getTime()
      ? [...deaf.slice(0, -1), { from: last.from, to: period.to }]
      : [...deaf, period];
  if (next.length <= MAX_PERIODS) return next;
  const [first, second, ...rest] = next as [DeafPeriod, DeafPeriod, ...DeafPeriod[]];
  return [{ from: first.from, to: second.to }, ...rest];
}

/**
 * `deaf` without the periods that can no longer change a silence: those followed by more than
 * `silentAfterMs` of listening up to `now` (a device heard before one of them, and not heard since, is
 * silent with or without it).
 */
export function forgetDeafPeriods(deaf: DeafPeriod[], now: Date, silentAfterMs: number): DeafPeriod[] {
  let deafAfter = 0;
  for (let i = deaf.length - 1; i >= 0; i--) {
    const p = deaf[i]!;
    if (now.getTime() - p.to.getTime() - deafAfter > silentAfterMs) return deaf.slice(i + 1);
    deafAfter += p.from ? p.to.getTime() - p.from.getTime() : Number.POSITIVE_INFINITY;
  }
  return deaf;
}
