import type { S3Client } from '@aws-sdk/client-s3';
import { backoffDelay, type Logger } from '@cti/runtime';
import type { Clock } from '../clock.ts';
import type { WatchConfig } from '../config.ts';
import type { Relay, RelayOutcome } from '../relay-core.ts';
import { listMetaObjects, type MetaObject } from '../s3-objects.ts';
import { loadState, type SettledEntry, saveState, type WatchState } from './watch-state.ts';

export interface WatcherOptions {
  s3: S3Client;
  relay: Relay;
  config: WatchConfig;
  log: Logger;
  clock: Clock;
  /** Captures relayed at the same time. */
  concurrency?: number;
  /** Cap of the backoff between retries of one pending capture. */
  retryCapMs?: number;
  /** How long stop() lets in-flight deliveries finish before abandoning them. */
  stopGraceMs?: number;
  /** Forget earlier rejections when the cursor is loaded, so those captures are relayed again. */
  retryRejected?: boolean;
  /**
   * While a poll relays, the cursor is saved at most this often (and always at the poll's end): a
   * crash re-sends at most this window's webhooks, which the server answers as replays.
   */
  saveEveryMs?: number;
  /** Called after each cursor save (how often the cursor is written; tests and debugging). */
  onSaved?: () => void;
  /**
   * A listed LastModified further than this ahead of the relay's clock is warned about (once per key):
   * the store's clock is wrong. Whatever the skew, the watermark never goes past the relay's clock:
   * one meta.json stamped in the future (a store clock ahead for a while) used to move it ahead for
   * good, and every capture uploaded after it was skipped as "older than watermark − grace" (review
   * r21 F8).
   */
  clockSkewMs?: number;
}

/** Runs `work` over items, `concurrency` at a time; takes no new item once `halt` aborted. Returns whether all ran. */
async function runPool<T>(
  items: T[],
  { concurrency, halt }: { concurrency: number; halt?: AbortSignal },
  work: (item: T) => Promise<void>,
): Promise<boolean> {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined && !halt?.aborted; item = queue.shift())
      await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  return queue.length === 0 && !halt?.aborted;
}

/**
 * The local relay (`cti-relay watch`): polls ListObjectsV2 for meta.json keys and runs the relay
 * core on each new one. Why a full listing with a persisted cursor instead of StartAfter: capture keys
 * are ordered by device and capture date, not by upload time (a Pi uploading yesterday's backlog writes
 * below keys already seen), so only "not yet settled" is a safe filter. The cursor keeps the settled
 * keys (with ETag: an overwritten meta.json is relayed again) and the incomplete ones, which are
 * re-checked with backoff until their files arrive; a restart resumes from it, missing and repeating nothing.
 *
 * @example
 * const watcher = createWatcher({ s3, relay, config, log, clock: systemClock });
 * await watcher.start(); // until watcher.stop()
 */
export function createWatcher({
  s3,
  relay,
  config,
  log,
  clock,
  concurrency = 4,
  retryCapMs = 60_000,
  stopGraceMs = 10_000,
  retryRejected = false,
  saveEveryMs = 1_000,
  onSaved,
  clockSkewMs = 60_000,
}: WatcherOptions) {
  let state: WatchState | undefined;
  let stopping: AbortController | undefined;
  let abandon: AbortController | undefined;
  let wake: AbortController | undefined;
  let running: Promise<void> | undefined;
  let poked = false;
  let saving: Promise<void> = Promise.resolve();
  let lastSaveAt = Number.NEGATIVE_INFINITY;
  const warnedFuture = new Set<string>();

  /** Saves one after another, each writing the state as it is when its turn comes. */
  function persist(s: WatchState): Promise<void> {
    lastSaveAt = clock.now();
    saving = saving
      .catch(() => {})
      .then(() => saveState(config.stateFile, s))
      .then(() => onSaved?.());
    return saving;
  }

  /**
   * After one outcome: saves when the last save is `saveEveryMs` old. The whole cursor is rewritten
   * (and fsynced) on each save, so saving after every capture made a backlog burst quadratic (review
   * r7 F6: 10,000 captures wrote 12 GB); the poll's final save records the rest.
   */
  function persistSoon(s: WatchState): Promise<void> | undefined {
    return clock.now() - lastSaveAt >= saveEveryMs ? persist(s) : undefined;
  }

  async function current(): Promise<WatchState> {
    if (state) return state;
    state = await loadState(config.stateFile, config.bucket, config.prefix);
    if (retryRejected) {
      // The local dead-letter redrive: e.g. after fixing a secret that made the server answer 401.
      // Each becomes a pending entry, due at once whatever its age: with the settled entry merely
      // deleted, a rejection older than watermark − grace was not due at all, and the poll's save
      // dropped it from the cursor (review r21 F1). Pending, it stays listed by `status` until it is
      // delivered or rejected again (or its key disappears).
      const requeued = Object.keys(state.settled).filter(
        (key) => state?.settled[key]?.outcome === 'rejected',
      );
      for (const key of requeued) {
        const { etag, lastModified } = state.settled[key] as SettledEntry;
        delete state.settled[key];
        state.pending[key] = { etag, lastModified, attempts: 0, nextAttemptAt: 0, last: 'retry-rejected' };
      }
      if (requeued.length > 0) log.info({ requeued }, 'rejected captures will be relayed again');
    }
    return state;
  }

  function isDue(object: MetaObject, s: WatchState, floor: number): boolean {
    const pending = s.pending[object.key];
    if (pending && pending.etag === object.etag) return pending.nextAttemptAt <= clock.now();
    const settled = s.settled[object.key];
    if (settled && settled.etag === object.etag) return false;
    return pending !== undefined || settled !== undefined || object.lastModified.getTime() >= floor;
  }

  function record(s: WatchState, object: MetaObject, outcome: RelayOutcome): void {
    const base = { etag: object.etag, lastModified: object.lastModified.toISOString() };
    const at = new Date(clock.now()).toISOString();
    if (outcome.kind === 'delivered' || outcome.kind === 'ignored' || outcome.kind === 'rejected') {
      delete s.pending[object.key];
      const reason = outcome.kind === 'delivered' ? undefined : outcome.reason;
      s.settled[object.key] = { ...base, outcome: outcome.kind, ...(reason && { reason }), at };
      return;
    }
    const attempts =
      (s.pending[object.key]?.etag === object.etag ? (s.pending[object.key]?.attempts ?? 0) : 0) + 1;
    const delay = config.pollMs + backoffDelay(attempts - 1, { baseMs: config.pollMs, capMs: retryCapMs });
    const last =
      outcome.kind === 'incomplete' ? `incomplete, missing ${outcome.missing.join(', ')}` : outcome.reason;
    s.pending[object.key] = { ...base, attempts, nextAttemptAt: clock.now() + delay, last };
  }

  /**
   * The oldest LastModified still worth relaying: watermark − grace, the watermark bounded by the
   * relay's clock (not clock + skew: with a grace shorter than the skew, a capture uploaded now would
   * fall below the floor).
   */
  function floorOf(s: WatchState): number {
    if (!s.watermark) return Number.NEGATIVE_INFINITY;
    return Math.min(Date.parse(s.watermark), clock.now()) - config.graceMs;
  }

  /** Warns once per key about a LastModified ahead of this relay's clock: a store clock to fix. */
  function warnFuture(listing: MetaObject[]): void {
    const limit = clock.now() + clockSkewMs;
    for (const { key, lastModified } of listing) {
      if (lastModified.getTime() <= limit || warnedFuture.has(key)) continue;
      warnedFuture.add(key);
      log.warn(
        { key, lastModified: lastModified.toISOString(), relayNow: new Date(clock.now()).toISOString() },
        "meta.json LastModified is ahead of the relay's clock: check the store's clock (NTP); the watermark does not follow it",
      );
    }
  }

  function advance(s: WatchState, listing: MetaObject[]): void {
    // Bounded by the relay's clock: also lowers a watermark an earlier version let run ahead.
    const newest = Math.min(
      Math.max(
        Date.parse(s.watermark ?? '1970-01-01T00:00:00Z'),
        ...listing.map((o) => o.lastModified.getTime()),
      ),
      clock.now(),
    );
    s.watermark = new Date(newest).toISOString();
    const floor = newest - config.graceMs;
    const present = new Set(listing.map((o) => o.key));
    for (const [key, entry] of Object.entries(s.settled)) {
      // Rejections stay: they are the local dead letters (see status, --retry-rejected).
      if (entry.outcome !== 'rejected' && Date.parse(entry.lastModified) < floor) delete s.settled[key];
    }
    for (const key of Object.keys(s.pending)) if (!present.has(key)) delete s.pending[key];
  }

  /**
   * One pass: list, relay what is due, persist at most every `saveEveryMs` and at the end. `halt` stops taking
   * new captures (in-flight ones finish); `signal` abandons in-flight ones.
   */
  async function pollOnce({
    signal,
    halt,
  }: {
    signal?: AbortSignal;
    halt?: AbortSignal;
  } = {}): Promise<{ relayed: number }> {
    const s = await current();
    const listing = await listMetaObjects(s3, config.bucket, config.prefix);
    warnFuture(listing);
    const floor = floorOf(s);
    const due = listing.filter((o) => isDue(o, s, floor)).sort((a, b) => +a.lastModified - +b.lastModified);
    const finished = await runPool(due, { concurrency, halt }, async (object) => {
      const outcome = await relay.relayObject(
        { bucket: config.bucket, key: object.key },
        { completionWaitMs: 0, signal },
      );
      record(s, object, outcome);
      await persistSoon(s);
    });
    // Only a poll that handled everything due may move the watermark past it.
    if (finished) advance(s, listing);
    await persist(s);
    return { relayed: due.length };
  }

  async function loop(halt: AbortSignal, signal: AbortSignal): Promise<void> {
    while (!halt.aborted) {
      try {
        poked = false;
        await pollOnce({ signal, halt });
      } catch (error) {
        if (halt.aborted) break;
        log.error({ err: error }, 'poll failed; trying again next interval');
      }
      if (poked) {
        poked = false;
        continue;
      }
      wake = new AbortController();
      await clock.sleep(config.pollMs, AbortSignal.any([halt, wake.signal])).catch(() => {});
    }
  }

  return {
    pollOnce,
    /** Loads the cursor (failing fast on a bad state file) and starts polling in the background. */
    async start(): Promise<void> {
      if (running) throw new Error('watcher already started');
      await current();
      stopping = new AbortController();
      abandon = new AbortController();
      log.info({ bucket: config.bucket, prefix: config.prefix, stateFile: config.stateFile }, 'watching');
      running = loop(stopping.signal, abandon.signal);
    },
    /** Poll now instead of at the next interval (e.g. on an in-process s3rver event). */
    poke(): void {
      poked = true;
      wake?.abort();
    },
    /**
     * Stops polling. In-flight deliveries get `graceMs` to finish and be recorded (abandoning one whose
     * POST already reached the server would re-send it after a restart); then they are abandoned.
     */
    async stop({ graceMs = stopGraceMs }: { graceMs?: number } = {}): Promise<void> {
      stopping?.abort(new Error('watcher stopping'));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([running, grace]);
      clearTimeout(timer);
      abandon?.abort(new Error('watcher stopped; delivery abandoned'));
      await running;
      running = undefined;
    },
    state: current,
  };
}

export type Watcher = ReturnType<typeof createWatcher>;
