import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyIncompleteError, BodyTooLargeError, type Logger, readLimitedBody } from '@cti/runtime';
import type { Clock } from '../clock.ts';
import type { ServeConfig } from '../config.ts';
import type { Relay, RelayOutcome, RelayTarget } from '../relay-core.ts';
import { targetsFromEvent } from '../s3-events.ts';
import { type DeadLetterId, writeDeadLetter } from './dead-letters.ts';
import { isAuthenticated } from './notify-auth.ts';
import { createUnsettledRecords } from './unsettled-records.ts';

export interface NotifyServerOptions {
  relay: Pick<Relay, 'relayObject'>;
  config: ServeConfig;
  log: Logger;
  clock: Clock;
  /** How many unsettled records the relay remembers first seeing (memory bound; see unsettled-records.ts). */
  unsettledLimit?: number;
}

export interface NotifyServer {
  port: number;
  /** Stop accepting, let in-flight notifications finish for `graceMs`, then abort them (503). */
  close(options?: { graceMs?: number }): Promise<void>;
}

class HttpProblem extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

// Outcomes after which the store must not re-send: done, or dead-lettered here.
const SETTLED = new Set<RelayOutcome['kind']>(['ignored', 'delivered', 'rejected']);

/** How long an unsettled record has waited, and by whose clock (the smaller age decides). */
type Age = { ms: number; by: 'store' | 'relay' };

/** A store time further ahead of the relay's clock than this is worth a warning (NTP not synced). */
const STORE_AHEAD_WARN_MS = 60_000;

/**
 * `cti-relay serve`: receives a self-hosted store's bucket notifications (Ceph RGW, MinIO; the S3
 * `{"Records":[…]}` format) on POST /notify, authenticated by a shared secret (notify-auth.ts),
 * bodies capped at `maxBodyBytes`. Each object-created record goes through the relay core, which
 * acts only on `raw/…/meta.json`, checks the capture's objects exist and retries the server with
 * backoff. The answer tells the store what to do: 200 when every record is settled (delivered,
 * ignored, or rejected for good and kept as a dead letter), 503 when one is incomplete or failed —
 * a persistent notification is then re-sent later. Re-sending a delivered record is a replay. A capture
 * still incomplete once it is `incompleteMaxAgeMs` old — by the store's clock (meta.json's LastModified)
 * and by the relay's (since it first saw the record), the younger age decides — is dead-lettered and
 * answered 200 too: a persistent queue re-sends everything behind an entry it was answered 503 for
 * (review r21 F2).
 *
 * @example
 * const server = await startNotifyServer({ relay, config: serveConfig, log, clock: systemClock });
 */
export async function startNotifyServer({
  relay,
  config,
  log,
  clock,
  unsettledLimit = 10_000,
}: NotifyServerOptions): Promise<NotifyServer> {
  const stopping = new AbortController();
  const inflight = new Set<Promise<unknown>>();

  const unsettled = createUnsettledRecords({ limit: unsettledLimit });

  /**
   * The store's time an unsettled outcome's age counts from: meta.json's LastModified (incomplete), the
   * record's eventTime (meta.json missing); `undefined` for an outcome that has no age (server down).
   */
  function storeTime(outcome: RelayOutcome, record: unknown): { field: string; ms: number } | undefined {
    const [field, value] =
      outcome.kind === 'incomplete'
        ? ['LastModified', outcome.metaLastModified]
        : outcome.kind === 'failed' && outcome.metaMissing
          ? ['eventTime', (record as { eventTime?: unknown }).eventTime]
          : [];
    if (field === undefined) return undefined;
    return { field, ms: typeof value === 'string' ? Date.parse(value) : Number.NaN };
  }

  /** Warnings an operator needs once per record: the store's time is missing, or it runs ahead. */
  function noteFirstSighting(key: string, store: { field: string; ms: number }, now: number) {
    if (Number.isNaN(store.ms))
      log.warn(
        { key, field: store.field },
        "notification record without a usable store time: its age is measured by the relay's clock alone",
      );
    else if (store.ms - now > STORE_AHEAD_WARN_MS)
      log.warn(
        { key, field: store.field, aheadS: Math.round((store.ms - now) / 1000) },
        "notification record's store time is ahead of the relay's clock: giving up on it waits that much longer (fix the store's clock)",
      );
  }

  /**
   * When an unsettled outcome has waited long enough to be given up on (the store then stops
   * re-sending it and everything queued behind it). Its age is the smaller of the store's (now −
   * meta.json's LastModified, or − the record's eventTime when meta.json does not exist) and the
   * relay's own (now − when it first saw the record): a store clock behind the relay's, or a record
   * without a time, cannot get a capture that is merely still uploading dead-lettered at once.
   * `incompleteMaxAgeMs` 0 gives up at once.
   */
  function givenUp(outcome: RelayOutcome, record: unknown, id: DeadLetterId, seenAt: number): Age | null {
    const store = storeTime(outcome, record);
    if (store === undefined) return null;
    const now = clock.now();
    const sighting = unsettled.sighted(id, seenAt);
    if (sighting.isNew) noteFirstSighting(id.key, store, now);
    for (const gone of sighting.evicted)
      log.warn(
        { key: gone.key, limit: unsettledLimit },
        'too many unsettled notification records: forgot when the least recently re-sent one was first seen (if re-sent, its wait starts over)',
      );
    const relayAgeMs = now - sighting.since;
    const storeAgeMs = now - store.ms; // NaN without a store time
    const age: Age =
      storeAgeMs < relayAgeMs ? { ms: storeAgeMs, by: 'store' } : { ms: relayAgeMs, by: 'relay' };
    return config.incompleteMaxAgeMs === 0 || age.ms > config.incompleteMaxAgeMs ? age : null;
  }

  /** Relays one record; dead-letters it when rejected for good or unsettled for too long (givenUp). */
  async function relayOne(record: unknown, target: RelayTarget) {
    const seenAt = clock.now();
    const outcome = await relay
      .relayObject(target, { budgetMs: config.budgetMs, signal: stopping.signal })
      .catch((error: unknown): RelayOutcome => {
        if (!stopping.signal.aborted) throw error;
        return { kind: 'failed', ingestKey: target.key, status: null, reason: 'relay stopping' };
      });
    const etag = (record as { s3?: { object?: { eTag?: unknown } } }).s3?.object?.eTag;
    const id = { bucket: target.bucket, key: target.key, etag: typeof etag === 'string' ? etag : '' };
    // A given-up record stays remembered: re-sent beside another unsettled one, it is given up at once.
    if (SETTLED.has(outcome.kind)) unsettled.settle(id);
    const age = outcome.kind === 'rejected' ? null : givenUp(outcome, record, id, seenAt);
    if (outcome.kind !== 'rejected' && age === null) return { key: target.key, outcome };
    const file = await writeDeadLetter(config.deadLetterDir, id, record, outcome, new Date(clock.now()));
    log.error(
      {
        key: target.key,
        ...(outcome.kind === 'incomplete' && { missing: outcome.missing }),
        ...('reason' in outcome && { reason: outcome.reason }),
        ...(age !== null && { ageS: Math.round(age.ms / 1000), ageBy: age.by }),
        deadLetter: file,
      },
      age === null
        ? 'notification dead-lettered'
        : 'notification dead-lettered: the capture stayed incomplete too long (replay the file once it is complete)',
    );
    return { key: target.key, outcome, deadLetter: file };
  }

  /** Relays every object-created record at once; a dead-lettered one counts as settled. */
  async function relayAll(records: unknown[]) {
    const results = await Promise.all(
      records.map(async (record) => {
        const [target] = targetsFromEvent({ Records: [record] }).targets; // throws on a malformed record
        return target ? [await relayOne(record, target)] : [];
      }),
    );
    return results.flat();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay');
    if (req.method === 'GET' && url.pathname === '/healthz') return answer(res, 200, { status: 'ok' });
    if (url.pathname !== '/notify' && !url.pathname.startsWith('/notify/'))
      throw new HttpProblem(404, 'not found: notifications go to POST /notify');
    if (req.method !== 'POST') throw new HttpProblem(405, 'notifications are POSTed');
    const body = await readLimitedBody(req, { limitBytes: config.maxBodyBytes });
    let event: { Records?: unknown };
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new HttpProblem(400, `the body is not JSON: ${(error as Error).message}`);
    }
    const records = Array.isArray(event?.Records) ? (event.Records as { opaqueData?: unknown }[]) : [];
    if (!isAuthenticated({ url, headers: req.headers, records, secrets: config.notifySecrets }))
      throw new HttpProblem(401, 'the notification does not carry the shared secret');
    let results: Awaited<ReturnType<typeof relayAll>>;
    try {
      targetsFromEvent(event); // the whole body first: a malformed one is refused before any relaying
      results = await relayAll(records);
    } catch (error) {
      if (error instanceof TypeError) throw new HttpProblem(400, error.message);
      throw error;
    }
    const settled = results.every((r) => SETTLED.has(r.outcome.kind) || 'deadLetter' in r);
    answer(res, settled ? 200 : 503, { results });
  }

  const server: Server = createServer((req, res) => {
    const work = handle(req, res).catch((error: unknown) => {
      if (error instanceof BodyIncompleteError) {
        // The store hung up mid-body (it re-sends a persistent notification): nobody to answer, and
        // no fault here. It was logged as a 500 "notification handling failed".
        log.debug({ url: req.url }, 'client disconnected before its notification body was complete');
        return;
      }
      const status =
        error instanceof HttpProblem ? error.status : error instanceof BodyTooLargeError ? 413 : 500;
      if (status >= 500) log.error({ err: error }, 'notification handling failed');
      else log.warn({ status, err: (error as Error).message }, 'notification refused');
      if (!res.headersSent) {
        if (status === 413) res.setHeader('connection', 'close');
        answer(res, status, { error: (error as Error).message });
      }
    });
    inflight.add(work);
    work.finally(() => inflight.delete(work));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    async close({ graceMs = 10_000 } = {}) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeIdleConnections();
      const grace = setTimeout(() => stopping.abort(), graceMs);
      await Promise.allSettled([...inflight]);
      clearTimeout(grace);
      server.closeAllConnections();
      await closed;
    },
  };
}
