import type { DeadLetterId } from './dead-letters.ts';

export interface FirstSighting {
  /** When the relay first saw this record unsettled (its own clock, ms since the epoch). */
  since: number;
  /** This is the first sighting (or the first since the record was forgotten). */
  isNew: boolean;
  /** Records dropped to stay within the limit: a re-send of one of them starts its wait over. */
  evicted: DeadLetterId[];
}

export interface UnsettledRecords {
  /** Notes that `id` was seen unsettled at `now`; keeps the earliest such time. */
  sighted(id: DeadLetterId, now: number): FirstSighting;
  /** Forgets `id` (it was delivered, ignored or rejected for good). */
  settle(id: DeadLetterId): void;
  readonly size: number;
}

const mapKey = ({ bucket, key, etag }: DeadLetterId) => `${bucket}\n${key}\n${etag}`;

/**
 * In memory, when `serve` first saw each unsettled notification record (incomplete, or meta.json
 * missing), keyed like its dead letter (bucket, key, ETag): the relay's own measure of how long the
 * record has waited, for a store whose clock is behind or whose record carries no time. Bounded:
 * beyond `limit` records, the one re-sent least recently is dropped first (a store that stopped
 * re-sending it no longer needs it; one still re-sending it only waits longer). Lost on restart.
 *
 * @example
 * const unsettled = createUnsettledRecords({ limit: 10_000 });
 * const { since } = unsettled.sighted({ bucket, key, etag }, clock.now());
 */
export function createUnsettledRecords({ limit = 10_000 }: { limit?: number } = {}): UnsettledRecords {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be an integer ≥ 1, got ${limit}`);
  // Map order is insertion order: re-inserting on every sighting keeps the least recently seen first.
  const seen = new Map<string, { id: DeadLetterId; since: number }>();
  return {
    sighted(id, now) {
      const k = mapKey(id);
      const known = seen.get(k);
      // min: two deliveries of one record in flight at once may report back in either order
      const since = Math.min(known?.since ?? now, now);
      seen.delete(k);
      seen.set(k, { id, since });
      const evicted: DeadLetterId[] = [];
      for (const [oldest, entry] of seen) {
        if (seen.size <= limit) break;
        seen.delete(oldest);
        evicted.push(entry.id);
      }
      return { since, isNew: known === undefined, evicted };
    },
    settle(id) {
      seen.delete(mapKey(id));
    },
    get size() {
      return seen.size;
    },
  };
}
