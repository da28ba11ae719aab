import type { Sql } from 'postgres';

/**
 * Link scans that carry an ear tag but no animal to the animal with that tag on their farm. Ingest
 * links at insert and the animals trigger (migration 0006) links when an animal is registered; a scan
 * and its animal committed at the same moment by two transactions can each miss the other, and this
 * sweep, run periodically by `cti-server serve`, closes that window. Only recent scans are looked at:
 * the race lasts a transaction, and tags that never get an animal should not cost every run.
 */
export async function linkWaitingScans(
  sql: Sql,
  { now, lookbackHours = 24 }: { now: Date; lookbackHours?: number },
) {
  const { count } = await sql`
    UPDATE scans s SET animal_id = a.id
    FROM animals a
    WHERE s.animal_id IS NULL AND s.animal_eid IS NOT NULL
      AND s.created_at > ${now}::timestamptz - make_interval(hours => ${lookbackHours})
      AND a.eid = s.animal_eid AND a.farm_id = s.farm_id`;
  return count;
}
