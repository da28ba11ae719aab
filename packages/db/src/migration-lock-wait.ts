import type { Sql } from 'postgres';

/** A session whose transaction holds a lock the migration waits for (pg_stat_activity). */
export type LockHolder = {
  pid: number;
  applicationName: string;
  state: string | null;
  /** Seconds since its transaction began; null outside a transaction (a session-level lock). */
  xactAgeS: number | null;
};

/** The lock a migration's connection waits for (pg_locks, not granted) and who holds it. */
export type LockWait = {
  mode: string;
  /** The relation's name when the lock is on a relation (`scans`), else the lock type (`advisory`). */
  target: string;
  holders: LockHolder[];
};

/** "AccessExclusiveLock on scans, held by pid 812 (application_name "cti-server", idle in transaction, transaction open 42 s)" */
export function describeLockWait(wait: LockWait | undefined): string {
  if (!wait) return 'a lock (its holder was not seen)';
  const holders = wait.holders.map(describeHolder).join('; ');
  return `${wait.mode} on ${wait.target}, held by ${holders || 'a session that has ended'}`;
}

function describeHolder(h: LockHolder): string {
  const parts = [`application_name ${JSON.stringify(h.applicationName)}`];
  if (h.state) parts.push(h.state);
  if (h.xactAgeS !== null) parts.push(`transaction open ${h.xactAgeS} s`);
  return `pid ${h.pid} (${parts.join(', ')})`;
}

/** What the backend `pid` waits for right now, or undefined when it waits for no lock. */
export async function readLockWait(sql: Sql, pid: number): Promise<LockWait | undefined> {
  const [row] = await sql<{ mode: string; target: string; holders: LockHolder[] }[]>`
    SELECT l.mode,
      coalesce(l.relation::regclass::text, l.locktype) AS target,
      coalesce((
        SELECT json_agg(json_build_object(
          'pid', a.pid, 'applicationName', a.application_name, 'state', a.state,
          'xactAgeS', floor(extract(epoch FROM now() - a.xact_start))::int) ORDER BY a.xact_start)
        FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids(l.pid))
      ), '[]'::json) AS holders
    FROM pg_locks l
    WHERE l.pid = ${pid} AND NOT l.granted
    LIMIT 1`;
  return row;
}

export type LockWaitWatch = {
  /** Stops watching; resolves to the last wait seen (undefined if the migration never waited). */
  stop(): Promise<LockWait | undefined>;
};

/**
 * Polls, on a second connection of `sql`'s pool, what the backend `pid` (the connection applying a
 * migration) waits for, every `everyMs`, and calls `onFirstWait` the first time it waits. A pool of
 * one connection cannot look while that connection works: nothing is watched then.
 */
export function watchLockWait(
  sql: Sql,
  pid: number,
  { everyMs, onFirstWait }: { everyMs: number; onFirstWait: (wait: LockWait) => void },
): LockWaitWatch {
  if (sql.options.max < 2) return { stop: async () => undefined };
  let last: LockWait | undefined;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout;
  const tick = () => {
    inFlight = readLockWait(sql, pid).then(
      (wait) => {
        if (!wait || stopped) return;
        if (!last) onFirstWait(wait);
        last = wait;
      },
      () => {}, // diagnosis only: the migration's own error says what failed
    );
    inFlight.finally(() => {
      if (!stopped) timer = setTimeout(tick, everyMs);
    });
  };
  timer = setTimeout(tick, everyMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      return last;
    },
  };
}
