import { HttpError } from '../errors.ts';

/**
 * Keyset cursor of the scans list: the last row's sort key in microseconds since the epoch (exact,
 * unlike a JS Date) or '-infinity', and its id. Opaque base64url for clients; stable across inserts.
 */
export type ScanCursor = { sortUs: string; id: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The sort keys a cursor may carry, in microseconds since the epoch: from the earliest instant Postgres
 * holds (4714-11-24 BC) to 294247-01-02, below bigint's end, where `epoch + n * interval '1 µs'` (a
 * float multiplication) still fits an interval. A forged value outside failed in the query: a 500.
 */
const MIN_SORT_US = -210_866_803_200_000_000n;
const MAX_SORT_US = 9_223_371_331_200_000_000n;

const inRange = (us: string) =>
  us === '-infinity' || (BigInt(us) >= MIN_SORT_US && BigInt(us) <= MAX_SORT_US);

export const encodeScanCursor = (c: ScanCursor): string =>
  Buffer.from(`s1|${c.sortUs}|${c.id}`).toString('base64url');

export function decodeScanCursor(text: string): ScanCursor {
  const [version, sortUs, id] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (
    version !== 's1' ||
    sortUs === undefined ||
    id === undefined ||
    !UUID.test(id) ||
    !/^(-?\d{1,19}|-infinity)$/.test(sortUs) ||
    !inRange(sortUs)
  ) {
    throw new HttpError(422, 'invalid_request', 'the cursor is not one this API returned', {
      problems: [{ pointer: '/query/cursor', message: 'is not a cursor returned by this API' }],
    });
  }
  return { sortUs, id };
}
