import { createHash } from 'node:crypto';
import type { WebhookBody } from '@cti/contracts';

/** JSON with every object's keys sorted, so the same value always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * sha256 of what a capture *is*: its meta.json content (keys sorted, so formatting and key order do
 * not count) and the set of objects listed. The relay's trace fields (`relay`), and the sizes and
 * hashes it adds (`object_details`, `meta_sha256`), are left out: a redelivery by another path (a
 * bare spec body, then the relay; Lambda, then `cti-relay replay`) is the same capture. Two
 * deliveries of one ingest_key with different content hashes are a conflict (the first one is kept).
 * The body is depth-checked before this runs, so the recursion is bounded.
 *
 * @example const hash = webhookContentSha256(body); // 64 hex characters
 */
export function webhookContentSha256(body: WebhookBody): string {
  const content = { meta_json: body.meta_json, objects: [...new Set(body.objects)].sort() };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
