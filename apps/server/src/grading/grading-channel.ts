/**
 * The NOTIFY channel on which a new or re-queued grading job is announced, in the transaction that
 * queues it (ingest, regrade, a retry): idle workers LISTEN and claim at once instead of at their next
 * poll. The payload is empty; workers claim from the table, so a lost notification costs one poll.
 * Their LISTEN watchdogs ping here too (`{"ping":…}`, db/watched-listener.ts), which no worker acts on.
 */
export const GRADING_JOBS_CHANNEL = 'cti_grading_jobs';
