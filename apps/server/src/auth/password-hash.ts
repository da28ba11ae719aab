import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt cost parameters. The default (N = 2^14, r = 8, p = 5: 16 MiB and about 0.2 s of one core
 * per hash on the 2-core development VM) is one of OWASP's equivalent recommended settings; it keeps
 * memory per concurrent hash small (Node runs at most 4 in its thread pool: 64 MiB).
 */
export type ScryptParams = { log2N: number; r: number; p: number };

export const DEFAULT_SCRYPT: ScryptParams = { log2N: 14, r: 8, p: 5 };

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const PREFIX = 'scrypt';

function derive(password: string, salt: Buffer, { log2N, r, p }: ScryptParams): Promise<Buffer> {
  const N = 2 ** log2N;
  // scrypt needs 128 * N * r bytes (+ p * 128 * r); allow twice that so Node never refuses it.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/**
 * A self-describing hash: `scrypt$<log2N>$<r>$<p>$<salt b64>$<key b64>`, so parameters can be raised
 * later without invalidating stored hashes (see `needsRehash`).
 *
 * @example const stored = await hashPassword('correct horse battery staple');
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return [PREFIX, params.log2N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join(
    '$',
  );
}

type Parsed = { params: ScryptParams; salt: Buffer; key: Buffer };

function parse(stored: string): Parsed | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return undefined;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every(Number.isInteger) || log2N < 1 || log2N > 22 || r < 1 || r > 32 || p < 1 || p > 16)
    return undefined;
  return {
    params: { log2N, r, p },
    salt: Buffer.from(parts[4]!, 'base64'),
    key: Buffer.from(parts[5]!, 'base64'),
  };
}

/** Constant-time comparison of `password` with a stored hash; false for a malformed or missing hash. */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parsed = stored ? parse(stored) : undefined;
  if (parsed === undefined) return false;
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** True when a stored hash was made with other parameters than `params` (rehash after sign-in). */
export function needsRehash(stored: string, params: ScryptParams): boolean {
  const parsed = parse(stored);
  return (
    parsed === undefined ||
    parsed.params.log2N !== params.log2N ||
    parsed.params.r !== params.r ||
    parsed.params.p !== params.p
  );
}

/**
 * A hash of a random password with `params`, made once per process: verifying a sign-in for an
 * unknown email against it costs the same as a real verification, so response time does not tell
 * whether an account exists.
 */
export function createDummyHash(params: ScryptParams): () => Promise<string> {
  let hash: Promise<string> | undefined;
  return () => {
    hash ??= hashPassword(randomBytes(24).toString('base64'), params);
    return hash;
  };
}
