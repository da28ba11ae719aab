import type { RelayTarget } from './relay-core.ts';

/**
 * Keys in S3 event notifications are URL-encoded form values: a space arrives as '+', a real '+' as
 * '%2B'. Decode '+' first, then the percent escapes (the reverse order would turn '%2B' into a space).
 */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/**
 * decodeS3Key, or null for a key that is not valid URL encoding ('%ZZ', a lone '%E2%82'). Such a key
 * cannot be a capture's (those are a-z 0-9 . _ - /): its record is skipped, naming the key, instead
 * of throwing URIError and failing every other record of the batch with it.
 */
function tryDecodeS3Key(key: string): string | null {
  try {
    return decodeS3Key(key);
  } catch {
    return null;
  }
}

const undecodable = (where: string, key: string) =>
  `${where}: key ${JSON.stringify(key.slice(0, 200))} is not valid URL encoding`;

interface EventBridgeObjectCreated {
  id?: string;
  source: 'aws.s3';
  'detail-type': string;
  detail: { bucket: { name: string }; object: { key: string; sequencer?: string } };
}

interface S3NotificationRecord {
  eventSource?: string;
  eventName?: string;
  /** Ceph RGW: the topic's OpaqueData attribute, copied into every record. */
  opaqueData?: string;
  /** Ceph RGW: a unique id per event. */
  eventId?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; sequencer?: string } };
}

/**
 * The stores whose notification records the relay reads, and how each writes the object key:
 * AWS and MinIO URL-encode it as a form value; Ceph RGW (16.2, checked) sends it as stored.
 * Names are `ObjectCreated:Put` (AWS, RGW) or `s3:ObjectCreated:Put` (MinIO).
 */
const RECORD_SOURCES: Record<string, { encodedKeys: boolean }> = {
  'aws:s3': { encodedKeys: true },
  'minio:s3': { encodedKeys: true },
  'ceph:s3': { encodedKeys: false },
};

const isObjectCreated = (name: string | undefined) => /^(s3:)?ObjectCreated:/.test(name ?? '');

/** Targets found in an event plus the records deliberately skipped (not object-created). */
export interface ParsedEvent {
  targets: RelayTarget[];
  skipped: string[];
}

function isEventBridge(
  event: Record<string, unknown>,
): event is EventBridgeObjectCreated & Record<string, unknown> {
  return (
    event.source === 'aws.s3' && typeof event['detail-type'] === 'string' && typeof event.detail === 'object'
  );
}

function fromEventBridge(event: EventBridgeObjectCreated): ParsedEvent {
  if (event['detail-type'] !== 'Object Created') {
    return { targets: [], skipped: [`EventBridge ${event['detail-type']} event`] };
  }
  const bucket = event.detail?.bucket?.name;
  const key = event.detail?.object?.key;
  if (typeof bucket !== 'string' || typeof key !== 'string') {
    throw new TypeError('EventBridge Object Created event without detail.bucket.name / detail.object.key');
  }
  // EventBridge keys are encoded like notification keys; capture keys (a-z 0-9 . _ - /) are the same either way.
  const eventId = event.id ?? event.detail.object.sequencer;
  const decoded = tryDecodeS3Key(key);
  if (decoded === null) return { targets: [], skipped: [undecodable('EventBridge Object Created', key)] };
  return { targets: [{ bucket, key: decoded, ...(eventId && { eventId }) }], skipped: [] };
}

function fromRecords(records: S3NotificationRecord[]): ParsedEvent {
  const parsed: ParsedEvent = { targets: [], skipped: [] };
  records.forEach((record, i) => {
    const source = RECORD_SOURCES[record.eventSource ?? ''];
    if (!source || !isObjectCreated(record.eventName)) {
      parsed.skipped.push(`Records[${i}]: ${record.eventSource ?? '?'} ${record.eventName ?? '?'}`);
      return;
    }
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string') {
      throw new TypeError(`Records[${i}] has no s3.bucket.name / s3.object.key`);
    }
    const eventId = record.eventId || record.s3?.object?.sequencer;
    const decoded = source.encodedKeys ? tryDecodeS3Key(key) : key;
    if (decoded === null) {
      parsed.skipped.push(undecodable(`Records[${i}]`, key));
      return;
    }
    parsed.targets.push({
      bucket,
      key: decoded,
      ...(eventId && { eventId }),
    });
  });
  return parsed;
}

/**
 * The objects an invocation is about: an EventBridge "Object Created" event (one object) or a classic
 * S3 notification (`Records[].s3`, possibly several; from AWS, MinIO or Ceph RGW). Anything else throws, so a mis-wired trigger
 * fails loudly and lands in the dead-letter queue instead of being silently dropped.
 */
export function targetsFromEvent(event: unknown): ParsedEvent {
  if (typeof event !== 'object' || event === null) throw new TypeError('event is not an object');
  const e = event as Record<string, unknown>;
  if (isEventBridge(e)) return fromEventBridge(e);
  if (Array.isArray(e.Records)) return fromRecords(e.Records as S3NotificationRecord[]);
  throw new TypeError(
    `unrecognised event (expected EventBridge aws.s3 "Object Created" or S3 Records[]): ${preview(event)}`,
  );
}

/** The start of an event for an error message; a body nested too deep for JSON.stringify is named so. */
function preview(event: object): string {
  try {
    return JSON.stringify(event).slice(0, 200);
  } catch {
    return `an object with keys ${JSON.stringify(Object.keys(event).slice(0, 10))} (nested too deep to show)`;
  }
}
