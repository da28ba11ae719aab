import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  formatProblem,
  META_FILE,
  type MetaJson,
  parseRawKey,
  type RawKeyParts,
  validateMeta,
  validateWebhookBody,
  WEBHOOK_MAX_JSON_DEPTH,
  type WebhookBody,
  type WebhookObjectDetail,
} from '@cti/contracts';
import { backoffDelay, type Logger } from '@cti/runtime';
import type { Clock } from './clock.ts';
import { hashObject, headObject, type ListedObject, listDirectory, readSmallObject } from './s3-objects.ts';
import { createWebhookClient } from './webhook-client.ts';

/**
 * What relaying one object came to. Callers branch on `kind`:
 * ignored (not a capture's meta.json) and delivered are done; rejected is permanent (dead-letter it);
 * incomplete (files meta.json names are missing) and failed (transient trouble outlasted the budget)
 * are worth retrying later.
 */
export type RelayOutcome =
  | { kind: 'ignored'; reason: string }
  | {
      kind: 'delivered';
      ingestKey: string;
      status: number;
      scanId: string | null;
      /** The server already had this capture (an idempotent replay). */
      replayed: boolean;
      /**
       * The server already had this ingest_key with other content (a re-used capture id, a rewritten
       * meta.json): it kept the first delivery. Settled, never retried, but logged as a warning.
       */
      contentDiffers: boolean;
      attempts: number;
    }
  | { kind: 'rejected'; ingestKey: string; status: number | null; reason: string }
  | {
      kind: 'incomplete';
      ingestKey: string;
      missing: string[];
      /** meta.json's LastModified (ISO): `serve` gives up on a capture incomplete for too long. */
      metaLastModified?: string;
    }
  | {
      kind: 'failed';
      ingestKey: string;
      status: number | null;
      reason: string;
      /** The meta.json itself does not exist (deleted after the event, or not yet visible). */
      metaMissing?: true;
    };

export interface RelayTarget {
  bucket: string;
  key: string;
  /** Id of the triggering event (EventBridge id, S3 sequencer), passed on for tracing. */
  eventId?: string;
}

export interface RelayObjectOptions {
  /** Total time for this object; defaults to config.budgetMs. */
  budgetMs?: number;
  /** How long to keep re-listing while files are missing (within the budget); 0 reports at once. */
  completionWaitMs?: number;
  signal?: AbortSignal;
}

export interface RelayOptions {
  s3: S3Client;
  fetch?: typeof globalThis.fetch;
  config: { webhookUrl: string; webhookSecrets: readonly string[]; budgetMs: number; httpTimeoutMs: number };
  log: Logger;
  clock: Clock;
  /** Recorded in the body's `relay.source`: 'lambda', 'local', 'replay'. */
  source: string;
  /** Backoff scale for re-listing and for webhook retries (tests shrink it). */
  baseMs?: number;
  capMs?: number;
}

/** meta.json above this size is refused: the server's body limit is 1 MiB and a meta is ~1 KB. */
export const MAX_META_BYTES = 256 * 1024;

/**
 * The server refuses a webhook body nesting objects/arrays WEBHOOK_MAX_JSON_DEPTH levels deep (a 422),
 * and meta_json sits one level down. A meta.json of 100 000 nested arrays (200 kB, under MAX_META_BYTES) passed
 * validateMeta (its objects are open) and then overflowed JSON.stringify: a "failed … S3: Maximum call
 * stack size exceeded", retried as if transient.
 */
export const MAX_META_DEPTH = WEBHOOK_MAX_JSON_DEPTH - 1;

/** Whether `value` has an object or array at depth `max` or deeper (the root is depth 0); iterative. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

type Loaded = { meta: MetaJson; sha256: string; size: number; lastModified: Date | undefined };
type Step<T> = { ok: T } | { outcome: RelayOutcome };

/** An incomplete outcome with the meta.json's LastModified, which tells how long it has been waiting. */
function dated(outcome: RelayOutcome, loaded: Loaded): RelayOutcome {
  if (outcome.kind !== 'incomplete' || loaded.lastModified === undefined) return outcome;
  return { ...outcome, metaLastModified: loaded.lastModified.toISOString() };
}

/**
 * A meta.json key under `raw/`: the EventBridge rule (raw/, suffix meta.json) and the watcher's listing
 * hand these to the relay as captures. One that does not parse as the layout (an upper-case device code
 * typed by hand, a nested directory) is someone's capture directory, so it is rejected — the DLQ, a
 * dead letter, `status` — not ignored without a trace (review r21 F3).
 */
export function isRawMetaKey(key: string): boolean {
  return key.startsWith('raw/') && key.endsWith(`/${META_FILE}`);
}

/** The capture directory whose meta.json `key` is, or why the key is not one. */
export function captureOfKey(key: string): RawKeyParts | string {
  if (!key.endsWith(`/${META_FILE}`)) return `not a ${META_FILE} key`;
  try {
    return parseRawKey(key);
  } catch (error) {
    return `outside the raw capture layout: ${(error as Error).message}`;
  }
}

/** Names meta.json says the directory holds, besides meta.json itself, in body order. */
export function namedFiles(meta: MetaJson): string[] {
  const { image_relpath, mask_relpath, extra = [] } = meta.files;
  return [image_relpath, ...(mask_relpath ? [mask_relpath] : []), ...extra];
}

/** The sha256 meta.json states for one of its files (image and mask only). */
function statedHash(meta: MetaJson, name: string): string | null {
  if (name === meta.files.image_relpath) return meta.image_sha256;
  if (name === meta.files.mask_relpath) return meta.mask_sha256 ?? null;
  return null;
}

/**
 * The relay core: given one object-created (bucket, key), act only on a capture's meta.json; load
 * and validate it, make sure every file it names is in the directory (re-listing with backoff while
 * the budget lasts), describe the objects (HEAD sizes, store checksums, sha256 of meta.json and of
 * extra files), build and check the webhook body, then sign and POST it with retries.
 *
 * @example
 * const relay = createRelay({ s3, config, log, clock: systemClock, source: 'local' });
 * const outcome = await relay.relayObject({ bucket: 'cti-dev', key: 'raw/dev-1/2025/09/09/cap_1/meta.json' });
 */
export function createRelay({
  s3,
  fetch,
  config,
  log,
  clock,
  source,
  baseMs = 1000,
  capMs = 10_000,
}: RelayOptions) {
  const webhook = createWebhookClient({
    url: config.webhookUrl,
    secrets: config.webhookSecrets,
    fetch,
    log: log.child({ mod: 'webhook' }),
    clock,
    timeoutMs: config.httpTimeoutMs,
    baseMs: Math.min(baseMs, 500),
    capMs: Math.max(capMs, 1000),
  });

  async function loadMeta(bucket: string, key: string, ingestKey: string): Promise<Step<Loaded>> {
    const rejected = (reason: string): Step<Loaded> => ({
      outcome: { kind: 'rejected', ingestKey, status: null, reason },
    });
    const got = await readSmallObject(s3, { bucket, key, maxBytes: MAX_META_BYTES });
    if (got === null) {
      const reason = `${key} does not exist (deleted after the event, or not yet visible)`;
      return { outcome: { kind: 'failed', ingestKey, status: null, reason, metaMissing: true } };
    }
    if ('tooLarge' in got)
      return rejected(`meta.json is ${got.tooLarge} bytes, over the ${MAX_META_BYTES} limit`);
    let data: unknown;
    try {
      data = JSON.parse(got.bytes.toString('utf8'));
    } catch (error) {
      return rejected(`meta.json is not valid JSON: ${(error as Error).message}`);
    }
    if (nestsDeeperThan(data, MAX_META_DEPTH))
      return rejected(`meta.json nests objects or arrays ${MAX_META_DEPTH} or more levels deep`);
    const valid = validateMeta(data);
    if (!valid.ok) return rejected(`invalid meta.json: ${valid.problems.map(formatProblem).join('; ')}`);
    const sha256 = createHash('sha256').update(got.bytes).digest('hex');
    return { ok: { meta: valid.value, sha256, size: got.bytes.length, lastModified: got.lastModified } };
  }

  async function awaitFiles(
    bucket: string,
    dir: string,
    meta: MetaJson,
    waitUntil: number,
    signal?: AbortSignal,
  ): Promise<Step<Map<string, ListedObject>>> {
    for (let round = 0; ; round++) {
      const listing = await listDirectory(s3, { bucket, dir });
      const missing = namedFiles(meta).filter((name) => !listing.has(name));
      if (missing.length === 0) return { ok: listing };
      const delayMs = backoffDelay(round, { baseMs, capMs }) + Math.min(baseMs, 100);
      if (clock.now() + delayMs > waitUntil)
        return { outcome: { kind: 'incomplete', ingestKey: dir, missing } };
      log.info({ ingestKey: dir, missing, delayMs }, 'capture incomplete; listing again');
      await clock.sleep(delayMs, signal);
    }
  }

  async function describeFile(bucket: string, dir: string, name: string, meta: MetaJson) {
    const key = dir + name;
    const isExtra = name !== meta.files.image_relpath && name !== meta.files.mask_relpath;
    if (isExtra) {
      // meta.json states no hash for extra files: hash them so the server can record their assets.
      const hashed = await hashObject(s3, { bucket, key });
      return hashed && { name, size_bytes: hashed.size, sha256: hashed.sha256 };
    }
    const head = await headObject(s3, { bucket, key });
    return head && { name, size_bytes: head.size, sha256: head.sha256 };
  }

  async function describeObjects(
    bucket: string,
    dir: string,
    loaded: Loaded,
  ): Promise<Step<WebhookObjectDetail[]>> {
    const { meta } = loaded;
    const details: WebhookObjectDetail[] = [];
    for (const name of namedFiles(meta)) {
      const detail = await describeFile(bucket, dir, name, meta);
      if (detail === null) return { outcome: { kind: 'incomplete', ingestKey: dir, missing: [name] } };
      const stated = statedHash(meta, name);
      if (stated && detail.sha256 !== null && detail.sha256 !== stated) {
        const reason = `${name}: the store's sha256 ${detail.sha256} differs from meta.json's ${stated}`;
        return { outcome: { kind: 'rejected', ingestKey: dir, status: null, reason } };
      }
      details.push(detail);
    }
    details.push({ name: META_FILE, size_bytes: loaded.size, sha256: loaded.sha256 });
    return { ok: details };
  }

  function buildBody(
    bucket: string,
    capture: RawKeyParts,
    loaded: Loaded,
    details: WebhookObjectDetail[],
    eventId?: string,
  ): Step<string> {
    const body: WebhookBody = {
      bucket,
      ingest_key: capture.dir,
      device_code: capture.deviceCode,
      objects: [...namedFiles(loaded.meta), META_FILE],
      meta_json: loaded.meta,
      object_details: details,
      meta_sha256: loaded.sha256,
      meta_size_bytes: loaded.size,
      relay: {
        source,
        ...(eventId && { event_id: eventId }),
        emitted_at: new Date(clock.now()).toISOString(),
      },
    };
    const valid = validateWebhookBody(body);
    if (valid.ok) return { ok: JSON.stringify(body) };
    const reason = `webhook body would be refused: ${valid.problems.map(formatProblem).join('; ')}`;
    return { outcome: { kind: 'rejected', ingestKey: capture.dir, status: null, reason } };
  }

  async function relayCapture(
    target: RelayTarget,
    capture: RawKeyParts,
    options: RelayObjectOptions,
  ): Promise<RelayOutcome> {
    const start = clock.now();
    const deadline = start + (options.budgetMs ?? config.budgetMs);
    const waitUntil = Math.min(deadline, start + (options.completionWaitMs ?? Number.POSITIVE_INFINITY));
    const loaded = await loadMeta(target.bucket, target.key, capture.dir);
    if ('outcome' in loaded) return loaded.outcome;
    const files = await awaitFiles(target.bucket, capture.dir, loaded.ok.meta, waitUntil, options.signal);
    if ('outcome' in files) return dated(files.outcome, loaded.ok);
    const details = await describeObjects(target.bucket, capture.dir, loaded.ok);
    if ('outcome' in details) return dated(details.outcome, loaded.ok);
    const body = buildBody(target.bucket, capture, loaded.ok, details.ok, target.eventId);
    if ('outcome' in body) return body.outcome;
    const delivery = await webhook.deliver(body.ok, { deadline, signal: options.signal });
    if (delivery.kind === 'delivered') {
      const { status, scanId, attempts, response } = delivery;
      const answer = response as { replayed?: unknown; content_differs?: unknown } | null;
      const replayed = answer?.replayed === true;
      const contentDiffers = answer?.content_differs === true;
      if (contentDiffers)
        log.warn(
          { captureId: capture.captureId, ingestKey: capture.dir, scanId, bucket: target.bucket },
          'server already had this ingest_key with different content; it kept the first delivery',
        );
      return {
        kind: 'delivered',
        ingestKey: capture.dir,
        status,
        scanId,
        replayed,
        contentDiffers,
        attempts,
      };
    }
    return { kind: delivery.kind, ingestKey: capture.dir, status: delivery.status, reason: delivery.reason };
  }

  /** Relay one object-created event. Never throws for S3 or HTTP trouble: it returns `failed`. */
  async function relayObject(target: RelayTarget, options: RelayObjectOptions = {}): Promise<RelayOutcome> {
    const objectLog = log.child({ bucket: target.bucket, key: target.key });
    const capture = captureOfKey(target.key);
    if (typeof capture === 'string') {
      if (!isRawMetaKey(target.key)) {
        objectLog.debug({ reason: capture }, 'ignored');
        return { kind: 'ignored', reason: capture };
      }
      objectLog.warn(
        { reason: capture },
        'relay rejected: a meta.json under raw/ outside the capture layout',
      );
      return { kind: 'rejected', ingestKey: target.key, status: null, reason: capture };
    }
    let outcome: RelayOutcome;
    try {
      outcome = await relayCapture(target, capture, options);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      outcome = {
        kind: 'failed',
        ingestKey: capture.dir,
        status: null,
        reason: `S3: ${(error as Error).message}`,
      };
    }
    const level = {
      ignored: 'debug',
      delivered: 'info',
      incomplete: 'warn',
      failed: 'error',
      rejected: 'error',
    } as const;
    objectLog[level[outcome.kind]]({ outcome }, `relay ${outcome.kind}`);
    return outcome;
  }

  return { relayObject };
}

export type Relay = ReturnType<typeof createRelay>;
