import {
  type Problem,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  toIngestKeyUri,
  unstorableTextProblems,
  validateWebhookBody,
  verifyWebhookSignature,
  WEBHOOK_MAX_JSON_DEPTH,
  type WebhookBody,
} from '@cti/contracts';
import { HttpError } from '../errors.ts';

// The edge checks of POST /ingest/webhook, in the order they run. Each throws an HttpError whose
// status and code are the contract with the relay: 4xx is final (never retried), 503 is retried.

const JSON_TYPE = /^application\/json\s*(;|$)/i;

export function checkContentType(contentType: string | undefined): void {
  if (contentType === undefined || !JSON_TYPE.test(contentType.trim())) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Type must be application/json, got ${contentType === undefined ? 'none' : JSON.stringify(contentType.slice(0, 100))}`,
    );
  }
}

export type SignatureInput = {
  body: Uint8Array;
  timestamp: string | undefined;
  signature: string | undefined;
  secrets: readonly string[];
  nowSeconds: number;
  toleranceSeconds: number;
};

export function checkSignature({
  body,
  timestamp,
  signature,
  secrets,
  nowSeconds,
  toleranceSeconds,
}: SignatureInput): void {
  const result = verifyWebhookSignature({
    body,
    timestamp,
    signature,
    secrets,
    now: nowSeconds,
    toleranceSeconds,
  });
  if (!result.ok) throw new HttpError(401, result.reason, result.message);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseJson(body: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function checkWebhookBody(data: unknown, acceptedBuckets: readonly string[]): WebhookBody {
  const text = bodyTextProblems(data);
  if (text.length > 0)
    throw new HttpError(422, 'invalid_webhook', describeProblems(text), { problems: text });
  const result = validateWebhookBody(data);
  if (!result.ok) {
    throw new HttpError(422, 'invalid_webhook', describeProblems(result.problems), {
      problems: result.problems,
    });
  }
  if (!acceptedBuckets.includes(result.value.bucket)) {
    const problems = [
      {
        pointer: '/bucket',
        message: `${JSON.stringify(result.value.bucket)} is not a bucket this server ingests`,
      },
    ];
    throw new HttpError(422, 'unknown_bucket', describeProblems(problems), { problems });
  }
  return result.value;
}

/**
 * Postgres text and jsonb cannot hold U+0000, and store an unpaired surrogate (JSON `"\ud800"`) as
 * U+FFFD; free-text fields (operator_id, relay.source…) would otherwise fail at insert time as a 500
 * or be changed silently. Reported like any schema problem, one pointer per string.
 * A value nested deeper than @cti/contracts' WEBHOOK_MAX_JSON_DEPTH (which the relay honours too) is
 * one problem at the pointer where it crosses the limit: a body of 100 000 nested arrays (200 kB, well
 * under the body limit) used to overflow the stack of a recursive walk and answer 500.
 */
export const bodyTextProblems = (value: unknown): Problem[] =>
  unstorableTextProblems(value, { maxDepth: WEBHOOK_MAX_JSON_DEPTH });

export function describeProblems(problems: readonly Problem[], what = 'webhook body'): string {
  const first = problems[0];
  const where = first ? `${first.pointer === '' ? '(root)' : first.pointer}: ${first.message}` : '';
  return `${what} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}); first: ${where}`;
}

export function signatureHeaders(header: (name: string) => string | undefined) {
  return { timestamp: header(TIMESTAMP_HEADER), signature: header(SIGNATURE_HEADER) };
}

const MAX_LOGGED = 512;

/** Truncated, and without U+0000 (which Postgres text cannot store). */
function loggable(s: string): string {
  return s.slice(0, MAX_LOGGED).replaceAll('\u0000', '\uFFFD');
}

/**
 * Best-effort identity of an (authenticated) body for ingestion_log, valid or not: the capture_id
 * from meta_json and the ingest key as `s3://bucket/raw/…/` when it parses, else as sent (truncated).
 */
export function identify(data: unknown): { captureId: string; ingestKey: string } {
  const body = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const meta = (
    typeof body.meta_json === 'object' && body.meta_json !== null ? body.meta_json : {}
  ) as Record<string, unknown>;
  const captureId = typeof meta.capture_id === 'string' ? loggable(meta.capture_id) : '';
  let ingestKey = typeof body.ingest_key === 'string' ? loggable(body.ingest_key) : '';
  try {
    ingestKey = toIngestKeyUri(body.bucket as string, body.ingest_key as string);
  } catch {
    // keep the raw value: a malformed key is exactly what an operator looks for in the log
  }
  return { captureId, ingestKey };
}
