import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Does `candidate` equal one of `secrets`? Compared as sha256 digests in constant time. */
export function matchesSecret(candidate: string | undefined, secrets: readonly string[]): boolean {
  if (!candidate) return false;
  const given = digest(candidate);
  let match = false;
  // Every secret is compared (no early exit), so timing says nothing about which one matched.
  for (const secret of secrets) match = timingSafeEqual(given, digest(secret)) || match;
  return match;
}

/**
 * Where a store puts the shared secret of a notification:
 * - the endpoint URL: `…/notify?token=SECRET` or `…/notify/SECRET` (any store);
 * - the `Authorization` header, `Bearer SECRET` or bare (MinIO's webhook `auth_token`);
 * - every record's `opaqueData` (Ceph RGW: the topic's `OpaqueData` attribute).
 */
/** A path segment as sent, or undefined when it is not URL encoding ('%ZZ'): no secret, so a 401, not a 500. */
function decodePath(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function isAuthenticated({
  url,
  headers,
  records,
  secrets,
}: {
  url: URL;
  headers: IncomingHttpHeaders;
  records: readonly { opaqueData?: unknown }[];
  secrets: readonly string[];
}): boolean {
  const fromPath = url.pathname.startsWith('/notify/') ? decodePath(url.pathname.slice(8)) : undefined;
  const authorization = headers.authorization?.replace(/^Bearer\s+/i, '');
  const inRequest = [url.searchParams.get('token') ?? undefined, fromPath, authorization];
  if (inRequest.some((candidate) => matchesSecret(candidate, secrets))) return true;
  return (
    records.length > 0 &&
    records.every((r) => typeof r.opaqueData === 'string' && matchesSecret(r.opaqueData, secrets))
  );
}
