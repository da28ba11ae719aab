/**
 * A UUID written as Postgres prints it (any case): what ids in paths, forms, query parameters and command
 * lines must be. Postgres reads other spellings too (braces, no hyphens), ajv-formats' `uuid` a
 * `urn:uuid:` prefix Postgres refuses (a 500 once it reached a query): neither is an id here.
 */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const UUID_RE = new RegExp(UUID_PATTERN);

/**
 * `text` as Postgres prints it when it is a uuid (UUID_RE), in lower case, so it compares equal to the
 * ids the database hands out; undefined otherwise. The API reads every uuid of a path, query or body
 * through it, and so do the pages: an upper-case id finds, filters and is refused exactly like its
 * lower-case spelling (review r12 F5).
 *
 * @example canonicalUuid('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11') // 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
 */
export function canonicalUuid(text: string | null | undefined): string | undefined {
  return typeof text === 'string' && UUID_RE.test(text) ? text.toLowerCase() : undefined;
}
