import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { backoffDelay } from '@cti/runtime';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { diskFull, type Outbox } from '../outbox/outbox.ts';
import type { OutboxCapture, OutboxObject } from '../outbox/outbox-types.ts';
import {
  installKnownPayloadHash,
  type TransferOutcome,
  type TransferTarget,
  transferObject,
} from './object-transfer.ts';
import { type CaptureReads, createReadBuffers, readAhead, readAheadBytes } from './read-ahead.ts';
import {
  classifyError,
  describeError,
  type ErrorKind,
  isHeadServerError,
  MissingSpoolFileError,
} from './s3-errors.ts';
import { createSendSlots } from './send-slots.ts';
import { createSpoolVolume } from './spool-volume.ts';
import { createUploaderMetrics } from './uploader-metrics.ts';

export interface CreateUploaderOptions {
  outbox: Outbox;
  s3: S3Client;
  bucket: string;
  /** Captures uploaded at once (each sends its objects in order: image, mask, meta.json last). */
  concurrency?: number;
  /** Objects larger than this go multipart via @aws-sdk/lib-storage. */
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  log?: Logger;
  clock?: () => number;
  random?: () => number;
  metrics?: Registry;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** How often an idle uploader looks for work committed by another process or a CLI retry. */
  pollIntervalMs?: number;
  /** Time allowed per object: this plus 1 ms per 50 bytes (≥ 50 KB/s on a poor link). */
  requestTimeoutMs?: number;
  /** Send `If-None-Match: *` (S3 honours it; s3rver ignores it, HEAD checks cover that). */
  conditionalWrites?: boolean;
  /**
   * After this many attempts of one object failed because the store answered its HEAD check with a
   * 5xx, the object is sent without the check (conditionally): a store that keeps failing HEAD for
   * one key must not keep that capture pending for ever.
   */
  maxHeadFailures?: number;
  /** Remove uploaded captures' files and rows after this many days; null keeps everything. */
  retentionDays?: number | null;
  retentionIntervalMs?: number;
}

export interface UploaderEvents {
  'object-uploaded': [
    { captureId: string; name: string; key: string; outcome: TransferOutcome; bytes: number },
  ];
  'capture-uploaded': [{ captureId: string }];
  quarantined: [{ captureId: string; name: string; reason: string }];
  'upload-error': [
    { captureId: string; name: string; kind: ErrorKind | 'abandoned'; message: string; retryInMs: number },
  ];
}

const DAY_MS = 86_400_000;

/**
 * Drains the outbox to S3: oldest captures first, `concurrency` captures at once, each capture's
 * objects in order with meta.json last. Transient failures back off (capped full jitter): one
 * object failing while others succeed on its own, failures in a row store-wide, and after those the
 * whole backlog wakes as soon as a request succeeds again; permanent ones quarantine the capture.
 *
 * @example
 * const uploader = createUploader({ outbox, s3, bucket: 'cti-raw', log, metrics: registry });
 * uploader.start();
 * onShutdown(() => uploader.stop({ abandonAfterMs: 10_000 }), { log });
 */
export function createUploader({
  outbox,
  s3,
  bucket,
  concurrency = 4,
  multipartThresholdBytes = 16 * 1024 * 1024,
  partSizeBytes = 8 * 1024 * 1024,
  log,
  clock = outbox.clock,
  random = Math.random,
  metrics: registry,
  backoffBaseMs = 1000,
  backoffCapMs = 300_000,
  pollIntervalMs = 2000,
  requestTimeoutMs = 120_000,
  conditionalWrites = true,
  maxHeadFailures = 3,
  retentionDays = 7,
  retentionIntervalMs = 3_600_000,
}: CreateUploaderOptions) {
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`uploader concurrency must be ≥ 1, got ${concurrency}`);
  installKnownPayloadHash(s3);
  const store = outbox.store;
  const events = new EventEmitter<UploaderEvents>();
  const metrics = createUploaderMetrics(registry, outbox.summary);
  const inflight = new Map<string, Promise<void>>();
  let running = false;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  let retentionTimer: NodeJS.Timeout | null = null;
  let failures = 0; // consecutive transient failures, store-wide
  let pausedUntil = 0;
  let nextThrowLogAt = 0; // uploadThrew logs once per backoff period
  // Something succeeded since the last transient failure: the store answers, so the next failure is
  // that object's own (a key answering 5xx, an unreadable file), not an outage.
  let answeredSinceFailure = false;
  const stopController = new AbortController();
  // Captures claimed beyond `concurrency` read and hash their files while the others send, so a
  // slot that frees up finds the next capture ready; the send slots keep `concurrency` on the wire.
  const readAheadCaptures = Math.ceil(concurrency / 2);
  const claimMax = concurrency + readAheadCaptures;
  const slots = createSendSlots(concurrency);
  const readBuffers = createReadBuffers(claimMax);
  // Consecutive failed HEAD checks per object (`captureId/name`); in memory: a restart re-counts.
  const headFailures = new Map<string, number>();
  const objectId = (captureId: string, object: OutboxObject) => `${captureId}/${object.name}`;
  // Why the spool's volume is not there (unmounted, renamed away), or null: the pump waits for it.
  const volume = createSpoolVolume(outbox.spoolDir);
  let volumeAway: string | null = null;

  function schedule(delayMs: number): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(pump, Math.max(0, delayMs));
  }

  /** Starts as many captures as there are free slots, then sleeps until the next retry time or poll. */
  function pump(): void {
    if (!running || stopping) return;
    const now = clock();
    if (clockSteppedBack(now)) {
      log?.warn(
        { pausedForMs: pausedUntil - now },
        'the clock stepped back: retrying now, not at backoff times set before the step',
      );
      pausedUntil = 0;
      wakeBacklog();
    }
    if (volumeAway !== null && !volumeBack()) {
      schedule(pollIntervalMs);
      return;
    }
    if (now < pausedUntil) {
      schedule(pausedUntil - now);
      return;
    }
    const free = claimMax - inflight.size;
    if (free === 0) return; // a finishing capture pumps again
    // The oldest claimable captures include the in-flight ones: ask for just enough to fill `free`.
    const ready = store.claimable(now, free + inflight.size).filter((c) => !inflight.has(c.captureId));
    for (const capture of ready.slice(0, free)) launch(capture);
    if (ready.length >= free) return;
    // Idle slots: sleep until the earliest backoff expires, or poll for work from other processes.
    const wake = store.nextWake();
    schedule(Math.min(pollIntervalMs, wake !== null && wake > now ? wake - now : pollIntervalMs));
  }

  /** The data volume is there again: the backlog is retried now, not at backoff times. */
  function volumeBack(): boolean {
    const away = volume.away();
    if (away !== null) {
      volumeAway = away;
      return false;
    }
    log?.info({ was: volumeAway }, 'the data volume is back: waking the backlog');
    volumeAway = null;
    failures = 0;
    pausedUntil = 0;
    wakeBacklog();
    return true;
  }

  /**
   * A spool file was missing because its volume is not there (review r20 F11): transient, not an
   * integrity failure. Every capture would fail the same way, so the whole backlog waits (a
   * store-wide pause the pump lifts when the volume is back); the reason is the outbox's lastError.
   */
  function volumeGone(captureId: string, object: OutboxObject, away: string, now: number): void {
    if (volumeAway === null)
      log?.warn({ captureId, object: object.name, reason: away }, 'data volume away; uploads wait for it');
    volumeAway = away;
    const message = `${away}; uploads wait for it`;
    metrics?.errors.inc({ kind: 'transient' });
    store.objectFailed(captureId, object.name, message, now, now);
    events.emit('upload-error', { captureId, name: object.name, kind: 'transient', message, retryInMs: 0 });
  }

  /**
   * Backoff times are wall-clock (they are stored in the outbox) and none ends more than
   * `backoffCapMs` after it was set, so one further ahead means the clock stepped back (NTP
   * correcting a clock that ran ahead): waiting it out would stall uploads for the size of the step.
   */
  function clockSteppedBack(now: number): boolean {
    if (pausedUntil - now > backoffCapMs) return true;
    const wake = store.nextWake();
    return wake !== null && wake - now > backoffCapMs;
  }

  function launch(capture: OutboxCapture): void {
    let threw = false;
    const run = uploadCapture(capture)
      .catch((error: unknown) => {
        threw = true;
        uploadThrew(capture.captureId, error);
      })
      .finally(() => {
        inflight.delete(capture.captureId);
        // Never re-claim in the same turn after a throw: small files are read synchronously, so
        // claim → read → throw → claim was one endless chain of microtasks whenever the backoff
        // drew 0 ms (full jitter), and the agent froze. Through a timer, the event loop turns.
        if (threw) schedule(pausedUntil - clock());
        else pump();
      });
    inflight.set(capture.captureId, run);
  }

  /**
   * Reads the capture's small files ahead, waits for a send slot, then uploads its remaining objects
   * in order. A capture turned away at the slot (stop, or a store-wide pause that began meanwhile)
   * has written nothing and sent nothing: it is simply claimable again later.
   */
  async function uploadCapture(capture: OutboxCapture): Promise<void> {
    const remaining = store.objectsOf(capture.captureId).filter((o) => o.state !== 'uploaded');
    const targets = remaining.map((o) => targetOf(capture, o));
    const small = targets.filter((t) => t.sizeBytes <= multipartThresholdBytes);
    const buffer = readBuffers.take(readAheadBytes(small));
    const reads = readAhead(small, buffer);
    try {
      if (!(await slots.acquire())) return;
      try {
        if (stopping || clock() < pausedUntil) return;
        await sendInOrder(capture, remaining, targets, reads);
      } finally {
        slots.release();
      }
    } finally {
      await reads.settled(); // no read may still be filling the buffer when it is reused
      readBuffers.give(buffer);
    }
  }

  /**
   * Each DB step records the previous object as uploaded and the next as started in one
   * transaction; meta.json uploaded completes the capture.
   */
  async function sendInOrder(
    capture: OutboxCapture,
    objects: OutboxObject[],
    targets: TransferTarget[],
    reads: CaptureReads,
  ): Promise<void> {
    const id = capture.captureId;
    let previous: string | null = null;
    let outcome: TransferOutcome | null = null;
    for (const [i, object] of objects.entries()) {
      if (stopping) break;
      if (!store.advance(id, previous, object.name, clock())) {
        log?.warn(
          { captureId: id, next: object.name },
          'capture given up while it was being sent (outbox discard --force): stopped before its next object, so it is never ingested',
        );
        return;
      }
      previous = null;
      const target = targets[i] as TransferTarget;
      outcome = await uploadObject(capture, object, target, reads.get(object.name));
      if (outcome === null) return;
      previous = object.name;
    }
    if (previous !== null) store.advance(id, previous, null, clock(), outcome === 'already_present');
    if (previous === 'meta.json') captureDone(capture);
  }

  function targetOf(capture: OutboxCapture, object: OutboxObject): TransferTarget {
    return {
      bucket,
      key: object.key,
      name: object.name,
      path: outbox.spoolPath(capture.captureId, object.name),
      sha256: object.sha256,
      sizeBytes: object.sizeBytes,
    };
  }

  function captureDone(capture: OutboxCapture): void {
    void outbox.keepFloor(); // on a card under the floor, the files just uploaded make room
    metrics?.captures.inc();
    metrics?.delivery.observe(Math.max(0, clock() - capture.committedAt) / 1000);
    events.emit('capture-uploaded', { captureId: capture.captureId });
    log?.info({ captureId: capture.captureId }, 'capture uploaded');
  }

  async function uploadObject(
    capture: OutboxCapture,
    object: OutboxObject,
    target: TransferTarget,
    prefetched: Promise<Buffer> | undefined,
  ): Promise<TransferOutcome | null> {
    const timeoutMs = requestTimeoutMs + Math.ceil(object.sizeBytes / 50);
    // One controller aborted by the stop or the timeout (cheaper per object than AbortSignal.any of
    // AbortSignal.timeout, which also leaves a dependent signal on the long-lived stop signal).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onStop = () => controller.abort();
    if (stopController.signal.aborted) onStop();
    else stopController.signal.addEventListener('abort', onStop, { once: true });
    const signal = controller.signal;
    const options = { s3, signal, multipartThresholdBytes, partSizeBytes, conditionalWrites, log };
    const skipCheck = (headFailures.get(objectId(capture.captureId, object)) ?? 0) >= maxHeadFailures;
    if (skipCheck)
      log?.warn(
        { captureId: capture.captureId, object: object.name, headFailures: maxHeadFailures },
        'the store keeps failing the HEAD check; sending without it (conditionally)',
      );
    try {
      const data = await prefetched; // a read or integrity error is this object's failure
      // attempts > 0: an earlier attempt may have reached the store before we lost track of it.
      const verifyFirst = object.attempts > 0;
      const outcome = await transferObject(target, { ...options, data, verifyFirst, skipCheck });
      succeeded(capture.captureId, object, outcome);
      return outcome;
    } catch (error) {
      failed(
        capture.captureId,
        object,
        timedOut && !stopController.signal.aborted ? timeoutError(timeoutMs, error) : error,
      );
      return null;
    } finally {
      clearTimeout(timer);
      stopController.signal.removeEventListener('abort', onStop);
    }
  }

  function succeeded(captureId: string, object: OutboxObject, outcome: TransferOutcome): void {
    headFailures.delete(objectId(captureId, object));
    metrics?.objects.inc({ outcome });
    if (outcome === 'sent') metrics?.bytes.inc(object.sizeBytes);
    answeredSinceFailure = true;
    // Only after store-wide failures: waking on every success reset a failing object's own backoff,
    // so it was retried (and paused everything) after each success elsewhere (review r7 F4).
    if (failures > 0) {
      // The store answers again: retry the whole backlog now instead of at each item's backoff time.
      log?.info({ after: failures }, 'store reachable again; waking the backlog');
      failures = 0;
      pausedUntil = 0;
      store.wakeAll();
    }
    events.emit('object-uploaded', {
      captureId,
      name: object.name,
      key: object.key,
      outcome,
      bytes: object.sizeBytes,
    });
  }

  function failed(captureId: string, object: OutboxObject, error: unknown): void {
    const now = clock();
    const message = describeError(error);
    if (stopController.signal.aborted) {
      store.objectFailed(captureId, object.name, 'abandoned at shutdown', now, 0);
      metrics?.errors.inc({ kind: 'abandoned' });
      events.emit('upload-error', { captureId, name: object.name, kind: 'abandoned', message, retryInMs: 0 });
      return;
    }
    if (error instanceof MissingSpoolFileError) {
      const away = volume.away(dirname(outbox.spoolPath(captureId, object.name)));
      if (away !== null) {
        volumeGone(captureId, object, away, now);
        return;
      }
    }
    const kind = classifyError(error);
    metrics?.errors.inc({ kind });
    const id = objectId(captureId, object);
    if (isHeadServerError(error)) headFailures.set(id, (headFailures.get(id) ?? 0) + 1);
    else headFailures.delete(id);
    if (kind === 'permanent') {
      quarantine(captureId, object, message);
      return;
    }
    const options = { baseMs: backoffBaseMs, capMs: backoffCapMs, random };
    // A failure right after a success elsewhere backs off that object only; failures in a row with
    // nothing succeeding in between are an outage: pause the whole backlog.
    if (!answeredSinceFailure) {
      failures++;
      pausedUntil = Math.max(pausedUntil, now + backoffDelay(failures - 1, options));
    }
    answeredSinceFailure = false;
    const retryInMs = Math.max(pausedUntil - now, backoffDelay(object.attempts, options));
    store.objectFailed(captureId, object.name, message, now, now + retryInMs);
    events.emit('upload-error', { captureId, name: object.name, kind, message, retryInMs });
    log?.warn({ captureId, object: object.name, err: message, retryInMs }, 'upload failed; will retry');
  }

  /**
   * A capture upload threw instead of recording its outcome: the outbox database could not be written
   * (SQLITE_FULL or SQLITE_IOERR — the data volume is full), or a bug. Re-claiming at once spun ~1 500
   * times a second, so it counts as a store-wide transient failure with the same capped backoff. Its
   * record would fail the same way: the outbox keeps it in memory for `summary().lastError`, and the
   * log says it once per backoff period, not once per capture of a burst.
   */
  function uploadThrew(captureId: string | null, error: unknown): void {
    const now = clock();
    failures++;
    const delay = backoffDelay(failures - 1, { baseMs: backoffBaseMs, capMs: backoffCapMs, random });
    pausedUntil = Math.max(pausedUntil, now + delay);
    const code = (error as { code?: unknown }).code;
    const database = typeof code === 'string' && code.startsWith('SQLITE_');
    const message = database
      ? `outbox database: ${code}: ${(error as Error).message}`
      : `capture upload threw: ${String((error as Error)?.message ?? error)}`;
    outbox.noteError({ at: now, message, captureId });
    metrics?.errors.inc({ kind: 'transient' });
    // Backing off alone never ended it (review r20 F1): nothing else frees the space the database needs.
    if (diskFull(error)) relieveFullDisk();
    if (now < nextThrowLogAt) return;
    nextThrowLogAt = pausedUntil;
    log?.error(
      { err: error, captureId, failures, retryInMs: pausedUntil - now },
      database
        ? 'capture upload could not record its progress (data volume full?); pausing uploads'
        : 'uploader bug: capture upload threw; pausing uploads',
    );
  }

  /**
   * Clears every stored backoff. On a full data volume this write fails like any progress write
   * (review r20 F2: it ended the start with a stack trace): it counts as one, and the pump retries.
   */
  function wakeBacklog(): void {
    try {
      store.wakeAll();
    } catch (error) {
      uploadThrew(null, error);
    }
  }

  let relieving: Promise<unknown> | null = null;
  function relieveFullDisk(): void {
    if (relieving) return; // one at a time: the captures of a burst fail together
    relieving = outbox
      .relieveFullDisk()
      .catch((err: unknown) => log?.error({ err }, 'could not make room for the outbox database'))
      .finally(() => {
        relieving = null;
      });
  }

  function quarantine(captureId: string, object: OutboxObject, message: string): void {
    const reason = `${object.name}: ${message}`;
    store.quarantine(captureId, object.name, reason, clock());
    events.emit('quarantined', { captureId, name: object.name, reason });
    log?.error(
      { captureId, object: object.name, reason },
      'capture quarantined; needs an operator (cti-agent outbox retry)',
    );
  }

  function runRetention(): void {
    if (retentionDays === null) return;
    outbox
      .prune({ olderThanMs: retentionDays * DAY_MS })
      .catch((error: unknown) => log?.error({ err: error }, 'outbox retention failed'));
  }

  return {
    events,
    start(): void {
      if (running) return;
      running = true;
      // A (re)start is often the fix someone tried: retry everything now rather than at the backoff
      // times a previous run stored. Concurrency and the store-wide pause still bound the burst.
      wakeBacklog();
      outbox.events.on('committed', pump);
      runRetention();
      retentionTimer = setInterval(runRetention, retentionIntervalMs);
      retentionTimer.unref();
      pump();
    },
    /** Retry everything now (a technician's long press, `cti-agent outbox retry`). */
    wakeNow(): void {
      log?.info({ pausedForMs: Math.max(0, pausedUntil - clock()) }, 'retry now: waking the backlog');
      failures = 0;
      pausedUntil = 0;
      wakeBacklog();
      pump();
    },
    /**
     * Stops taking work and lets in-flight objects finish for up to `abandonAfterMs`, then aborts
     * them (multipart uploads aborted on the store); every object ends pending or uploaded.
     */
    async stop({ abandonAfterMs = 10_000 }: { abandonAfterMs?: number } = {}): Promise<void> {
      stopping = true;
      slots.cancelAll(); // captures still waiting for a slot have neither written nor sent anything
      outbox.events.off('committed', pump);
      if (timer) clearTimeout(timer);
      if (retentionTimer) clearInterval(retentionTimer);
      const all = Promise.allSettled([...inflight.values()]);
      let grace: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => {
          grace = setTimeout(() => resolve(true), abandonAfterMs);
        }),
      ]);
      clearTimeout(grace);
      if (expired) {
        log?.warn({ inflight: inflight.size }, 'abandoning in-flight uploads');
        stopController.abort(new Error('uploader stopping'));
        await all;
      }
      running = false;
    },
    /** Captures claimed: sending, or read ahead and waiting for a send slot. */
    get inflight(): number {
      return inflight.size;
    },
  };
}

function timeoutError(timeoutMs: number, cause: unknown): Error {
  const error = new Error(`no answer within ${timeoutMs} ms`, { cause });
  error.name = 'RequestTimeout';
  return error;
}

export type Uploader = ReturnType<typeof createUploader>;
