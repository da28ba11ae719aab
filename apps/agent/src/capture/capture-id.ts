import { randomBytes } from 'node:crypto';

// Crockford base32: no I, L, O, U, so an id read aloud or typed from a label survives.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Uint8Array, chars: number): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

function compactUtc(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * capture_id = `cap_<UTC yyyymmddThhmmssZ>_<16 Crockford base32 chars = 80 random bits>`,
 * e.g. `cap_20250909T141832Z_7K3M9QX2PA4D1B8E` (37 chars, matches contracts' ^cap_[A-Za-z0-9_-]{1,96}$).
 *
 * Uniqueness comes from the random part alone, so it holds for two presses in the same second, across
 * restarts (no counter to lose in a power cut) and across clock jumps (a Pi without RTC boots in the
 * past); the timestamp is only there so people and S3 listings sort and read ids by time. The outbox
 * refuses a duplicate id as a last line of defence.
 */
export function createCaptureIdGenerator({
  random = randomBytes,
}: {
  random?: (n: number) => Uint8Array;
} = {}) {
  return (capturedAt: Date): string => `cap_${compactUtc(capturedAt)}_${base32(random(10), 16)}`;
}
