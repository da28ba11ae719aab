import { HttpError } from '../errors.ts';

/**
 * Keyset cursor of the scans list: the last row's sort key in microseconds since the epoch (exact,
 * unlike a JS Date) or '-infinity', and its id. Opaque base64url for clients; stable across inserts.
 */
export type ScanCursor = { sortUs: string; id: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const encodeScanCursor = (c: ScanCursor): string =>
  Buffer.from(`s1|${c.sortUs}|${c.id}`).toString('base64url');

export function decodeScanCursor(text: string): ScanCursor {
  const [version, sortUs, id] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (
    version !== 's1' ||
    sortUs === undefined ||
    id === undefined ||
    !UUID.test(id) ||
    !/^(-?\d{1,19}|-infinity)$/.test(sortUs)
  ) {
    throw new HttpError(422, 'invalid_request', 'the cursor is not one this API returned', {
      problems: [{ pointer: '/query/cursor', message: 'is not a cursor returned by this API' }],
    });
  }
  return { sortUs, id };
}
