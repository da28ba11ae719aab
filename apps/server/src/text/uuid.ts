/** A UUID written as Postgres prints it (any case): what ids in paths, forms and command lines must be. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
