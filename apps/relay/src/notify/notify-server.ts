import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyIncompleteError, BodyTooLargeError, type Logger, readLimitedBody } from '@cti/runtime';
import type { Clock } from '../clock.ts';
import type { ServeConfig } from '../config.ts';
import type { Relay, RelayOutcome } from '../relay-core.ts';
import { targetsFromEvent } from '../s3-events.ts';
import { writeDeadLetter } from './dead-letters.ts';
import { isAuthenticated } from './notify-auth.ts';

export interface NotifyServerOptions {
  relay: Pick<Relay, 'relayObject'>;
  config: ServeConfig;
  log: Logger;
  clock: Clock;
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

/**
 * `cti-relay serve`: receives a self-hosted store's bucket notifications (Ceph RGW, MinIO; the S3
 * `{"Records":[…]}` format) on POST /notify, authenticated by a shared secret (notify-auth.ts),
 * bodies capped at `maxBodyBytes`. Each object-created record goes through the relay core, which
 * acts only on `raw/…/meta.json`, checks the capture's objects exist and retries the server with
 * backoff. The answer tells the store what to do: 200 when every record is settled (delivered,
 * ignored, or rejected for good and kept as a dead letter), 503 when one is incomplete or failed —
 * a persistent notification is then re-sent later. Re-sending a delivered record is a replay. A capture
 * still incomplete once its meta.json is `incompleteMaxAgeMs` old is dead-lettered and answered 200 too:
 * a persistent queue re-sends everything behind an entry it was answered 503 for (review r21 F2).
 *
 * @example
 * const server = await startNotifyServer({ relay, config: serveConfig, log, clock: systemClock });
 */
export async function startNotifyServer({
  relay,
  config,
  log,
  clock,
}: NotifyServerOptions): Promise<NotifyServer> {
  const stopping = new AbortController();
  const inflight = new Set<Promise<unknown>>();

  /**
   * When an unsettled outcome has waited long enough to be given up on (the store then stops
   * re-sending it and everything queued behind it): incomplete once meta.json's LastModified is older
   * than `incompleteMaxAgeMs`, a meta.json that does not exist once the record's eventTime is.
   */
  function givenUp(outcome: RelayOutcome, record: unknown): number | null {
    const since =
      outcome.kind === 'incomplete'
        ? outcome.metaLastModified
        : outcome.kind === 'failed' && outcome.metaMissing
          ? (record as { eventTime?: unknown }).eventTime
          : undefined;
    const age = clock.now() - Date.parse(typeof since === 'string' ? since : '');
    return age > config.incompleteMaxAgeMs ? age : null;
  }

  /**
   * Relays every object-created record at once. A record the server rejected for good, or one
   * incomplete for too long (givenUp), is dead-lettered: it counts as settled.
   */
  async function relayAll(records: unknown[]) {
    const results = await Promise.all(
      records.map(async (record) => {
        const [target] = targetsFromEvent({ Records: [record] }).targets; // throws on a malformed record
        if (!target) return [];
        const outcome = await relay
          .relayObject(target, { budgetMs: config.budgetMs, signal: stopping.signal })
          .catch((error: unknown): RelayOutcome => {
            if (!stopping.signal.aborted) throw error;
            return { kind: 'failed', ingestKey: target.key, status: null, reason: 'relay stopping' };
          });
        const ageMs = outcome.kind === 'rejected' ? null : givenUp(outcome, record);
        if (outcome.kind !== 'rejected' && ageMs === null) return [{ key: target.key, outcome }];
        const etag = (record as { s3?: { object?: { eTag?: unknown } } }).s3?.object?.eTag;
        const id = { bucket: target.bucket, key: target.key, etag: typeof etag === 'string' ? etag : '' };
        const file = await writeDeadLetter(config.deadLetterDir, id, record, outcome, new Date(clock.now()));
        log.error(
          {
            key: target.key,
            ...(outcome.kind === 'incomplete' && { missing: outcome.missing }),
            ...('reason' in outcome && { reason: outcome.reason }),
            ...(ageMs !== null && { ageS: Math.round(ageMs / 1000) }),
            deadLetter: file,
          },
          ageMs === null
            ? 'notification dead-lettered'
            : 'notification dead-lettered: the capture stayed incomplete too long (replay the file once it is complete)',
        );
        return [{ key: target.key, outcome, deadLetter: file }];
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
