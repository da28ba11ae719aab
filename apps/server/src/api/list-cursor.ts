import { HttpError } from '../errors.ts';
import { isInt8Id, UUID_RE } from './request-validation.ts';

/** Opaque keyset cursor for simple lists: base64url JSON of the last row's sort values. */
export const encodeCursor = (values: (string | number)[]): string =>
  Buffer.from(JSON.stringify(values)).toString('base64url');

/**
 * `id`: a bigserial key, so a forged 1.5 or 1e300 never reaches SQL — its decimal string (isInt8Id,
 * exact past 2^53), or a positive safe integer as cursors held it before ids were strings.
 */
type CursorValue = 'string' | 'id';

const fits = (v: unknown, type: CursorValue): boolean =>
  type === 'id'
    ? (typeof v === 'string' && isInt8Id(v)) || (Number.isSafeInteger(v) && (v as number) > 0)
    : typeof v === type;

export function decodeCursor(text: string, types: CursorValue[]): (string | number)[] {
  try {
    const values = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(values) &&
      values.length === types.length &&
      values.every((v, i) => fits(v, types[i]!))
    ) {
      return values as (string | number)[];
    }
  } catch {
    // fall through to the 422
  }
  throw notOurCursor();
}

const notOurCursor = () =>
  new HttpError(422, 'invalid_request', 'the cursor is not one this API returned', {
    problems: [{ pointer: '/query/cursor', message: 'is not a cursor returned by this API' }],
  });

/**
 * The animals list's cursor (last tag, last id), for the API and the page alike: an id that is not a
 * uuid or a tag Postgres text cannot hold (U+0000) is the same 422 as any other foreign cursor — in
 * the query they were a 500. `decodeAnimalCursor(encodeCursor([a.tag_id, a.id]))` → `{ tag, id }`.
 */
export function decodeAnimalCursor(text: string): { tag: string; id: string } {
  const [tag, id] = decodeCursor(text, ['string', 'string']) as [string, string];
  if (!UUID_RE.test(id) || tag.includes('\u0000')) throw notOurCursor();
  return { tag, id };
}

/**
 * One page from `limit + 1` fetched rows: the first `limit` and, when there were more, the cursor of
 * the last one returned.
 */
export function keysetPage<T, V>(
  rows: readonly T[],
  limit: number,
  cursorOf: (last: T) => string,
  view: (row: T) => V,
) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    next_cursor: rows.length > limit && last !== undefined ? cursorOf(last) : null,
  };
}
