import { type Logger, silentLogger } from '@cti/runtime';

/** A tag read at the chute, waiting for the capture of its animal. */
export type EarTag = {
  eid: string;
  /** Wall-clock time of the (latest) read, for meta.json `animal.read_at`. */
  readAt: Date;
  /** Monotonic ms of the latest read (the capture's press time is on the same clock). */
  readAtMono: number;
  /** Identifies this read: consuming a tag that has since been replaced does nothing. */
  seq: number;
};

/** What the capture pipeline asks: the tag for a press, then "it is in a committed capture". */
export type EarTagSource = {
  forPress(pressAt: number): EarTag | null;
  consume(tag: EarTag): void;
};

export type ReadOutcome = 'new' | 'repeat' | 'replaced';

/**
 * Holds the last tag read and hands it to the next capture — at most one capture, and only when it
 * was read within `windowMs` before the press, so a tag read for the previous animal never lands on
 * the next one:
 * - a capture that commits consumes its tag (a refused capture does not: the technician presses again);
 * - a different tag read before any capture replaces the unused one, with a log line;
 * - the same tag read again (readers repeat while held to the ear) refreshes its read time;
 * - a tag older than the window at a press is dropped with a log line, never stamped later.
 */
export function createEarTagHolder({
  windowMs,
  now = () => performance.now(),
  wallClock = () => new Date(),
  log = silentLogger(),
}: {
  windowMs: number;
  now?: () => number;
  wallClock?: () => Date;
  log?: Logger;
}) {
  let held: EarTag | null = null;
  let seq = 0;
  let reads = 0;
  let lastReadAt: Date | null = null;

  return {
    /** A tag the reader sent. */
    offer(eid: string): ReadOutcome {
      reads += 1;
      lastReadAt = wallClock();
      const previous = held;
      held = { eid, readAt: lastReadAt, readAtMono: now(), seq: ++seq };
      if (previous?.eid === eid) return 'repeat';
      if (previous) {
        log.warn(
          { eid, replaced: previous.eid },
          `ear tag ${eid} replaces unused tag ${previous.eid} (no capture was taken for it)`,
        );
        return 'replaced';
      }
      log.info({ eid }, `ear tag ${eid} read; it goes into the next capture`);
      return 'new';
    },
    forPress(pressAt: number): EarTag | null {
      if (!held || held.readAtMono > pressAt) return null; // read after the press: for the next one
      if (pressAt - held.readAtMono > windowMs) {
        const ageS = Math.round((pressAt - held.readAtMono) / 1000);
        log.warn(
          { eid: held.eid, ageS, windowS: windowMs / 1000 },
          `ear tag ${held.eid} was read ${ageS} s before the press, outside the ${windowMs / 1000} s window: not stamped, dropped`,
        );
        held = null;
        return null;
      }
      return held;
    },
    consume(tag: EarTag): void {
      if (held?.seq === tag.seq) held = null;
    },
    status: () => ({
      reads,
      last_read_at: lastReadAt?.toISOString() ?? null,
      pending: held ? { eid: held.eid, read_at: held.readAt.toISOString() } : null,
    }),
  };
}

export type EarTagHolder = ReturnType<typeof createEarTagHolder>;
