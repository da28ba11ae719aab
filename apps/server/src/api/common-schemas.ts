import type { Problem } from '@cti/contracts';
import { HttpError } from '../errors.ts';
import {
  normalizeTypedName,
  TYPED_NAME_PATTERN,
  TYPED_NAME_RULE,
  typedNameFault,
} from '../text/typed-name.ts';
import { canonicalUuid, UUID_PATTERN } from '../text/uuid.ts';
import type { JsonSchema } from './api-route.ts';

/**
 * A uuid as Postgres prints it (either case; read in lower case, normalizeInput). The pattern as well
 * as the format: ajv-formats' uuid also takes a "urn:uuid:" prefix, which Postgres refuses.
 */
export const uuid: JsonSchema = {
  type: 'string',
  format: 'uuid',
  pattern: UUID_PATTERN,
  'x-expected': 'a valid uuid',
};
/**
 * An RFC 3339 date-time that Postgres can hold as given. RFC 3339 allows a leap second (`23:59:60`),
 * which Postgres refuses with a fraction and JavaScript's Date never parses; an offset beyond ±15:59
 * (Postgres: "time zone displacement out of range"); and an instant outside the years 0001–9999 in
 * UTC, e.g. `0001-01-01T00:00:00+00:01` (year 0 in UTC) — all refused here as bad input (422 naming the
 * parameter), never a 500 later. formatMinimum/formatMaximum (ajv-formats) compare instants, offsets applied.
 */
export const dateTime: JsonSchema = {
  type: 'string',
  format: 'date-time',
  pattern: '^(?!\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:60)(?=.*(?:[Zz]|[+-](?:0\\d|1[0-5]):[0-5]\\d)$)',
  formatMinimum: '0001-01-01T00:00:00Z',
  formatMaximum: '9999-12-31T23:59:59.999Z',
  'x-expected':
    'an RFC 3339 date-time from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, with an offset of at most ±15:59 and without a leap second, e.g. 2025-09-09T14:18:32Z',
};
export const nullable = (schema: JsonSchema): JsonSchema => {
  const type = schema.type;
  if (typeof type === 'string') return { ...schema, type: [type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
};
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** A closed object: every listed property required unless named in `optional`. */
export function object(
  properties: Record<string, JsonSchema>,
  { optional = [] as string[] } = {},
): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

export const pageOf = (item: JsonSchema): JsonSchema =>
  object({ items: { type: 'array', items: item }, next_cursor: { type: ['string', 'null'] } });

export const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error', 'message', 'request_id'],
  properties: {
    error: { type: 'string', description: 'Stable machine-readable code, e.g. not_found, invalid_request.' },
    message: { type: 'string' },
    problems: {
      type: 'array',
      items: {
        type: 'object',
        required: ['pointer', 'message'],
        properties: {
          pointer: {
            type: 'string',
            description: 'JSON pointer into the body, or /query/<name> for a query parameter.',
          },
          message: { type: 'string' },
        },
      },
    },
    request_id: { type: 'string' },
  },
};

export const limitParam = {
  schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
  description: 'Page size (1–200, default 50).',
};
/**
 * The longest `cursor` accepted, derived from the longest any list can hand out, with room to spare
 * (≈ 1.9×). The animals list's cursor is base64url(JSON [tag_id, id]): a tag of 64 code points (shortText(64),
 * counted after NFC since review r13 F8; before, 64 U+1D160 grew to 192) is at most 256 bytes of UTF-8 — the
 * bound below was made for 192 code points and 768 bytes:
 * `["<768 bytes>","<uuid>"]` is 811 bytes, 1,082 characters encoded (list-cursor.test.ts checks it).
 * The scans cursor (`s1|<µs>|<uuid>`) is at most 80 characters, the notifications one 32. It was
 * 200, below what a 64-character CJK tag mints: paging through such an animal stopped at a 422.
 */
export const CURSOR_MAX_LENGTH = 2048;

export const cursorParam = {
  schema: { type: 'string', minLength: 1, maxLength: CURSOR_MAX_LENGTH },
  description: 'next_cursor of the previous page.',
};

const typedNames = new WeakSet<object>();

/**
 * A typed name or label on one line (text/typed-name.ts): at least one visible character, no control,
 * invisible or text-direction characters (422 naming the field). Bodies read through readJsonBody or
 * a page's `validated` come back with such fields NFC-normalised (normalizeInput), before any
 * query compares them with stored names.
 */
export const shortText = (maxLength: number): JsonSchema => {
  const schema: JsonSchema = {
    type: 'string',
    minLength: 1,
    maxLength,
    pattern: TYPED_NAME_PATTERN,
    'x-expected': `1–${maxLength} characters ${TYPED_NAME_RULE}`,
  };
  typedNames.add(schema);
  return schema;
};

/**
 * `value` (valid against `schema`) with every string whose schema is a shortText NFC-normalised and
 * trimmed, and every `format: uuid` string in lower case (as Postgres prints uuids, so no handler
 * compares an upper-case id sent by a client with a stored one as text — review r12 F5): properties of
 * objects, items of arrays, and the members of an `anyOf` (shortText or null). Bodies and query
 * parameters of the API and the pages' validated forms all pass here.
 *
 * NFC can lengthen text (U+0958 is two code points in NFC), so a typed name's maxLength is checked
 * again on the normalised text — what is stored and what the database's length CHECK counts: over it
 * is a 422 naming the field and the limit, never a 500 or a label stored past its limit (review r13
 * F8). `at` prefixes the pointers (`/query` for query parameters).
 */
export function normalizeInput<T>(schema: JsonSchema, value: T, at = ''): T {
  const problems: Problem[] = [];
  const out = normalizeAt(schema, value, at, problems);
  if (problems.length > 0) {
    const what = problems.map((p) => `${p.pointer} ${p.message}`).join('; ');
    throw new HttpError(422, 'invalid_request', `the request has invalid fields: ${what}`, { problems });
  }
  return out;
}

function normalizeAt<T>(schema: JsonSchema, value: T, at: string, problems: Problem[]): T {
  if (typeof value === 'string') {
    if (!isTypedNameSchema(schema))
      return (isUuidSchema(schema) ? (canonicalUuid(value) ?? value) : value) as T;
    const normal = normalizeTypedName(value);
    const max = typedNameMaxLength(schema);
    const length = [...normal].length;
    if (max !== undefined && length > max) {
      problems.push({
        pointer: at,
        message: `must be at most ${max} characters once Unicode-normalised (NFC), as it is stored: it is ${length}`,
      });
    }
    return normal as T;
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === 'object')
    return value.map((v, i) =>
      normalizeAt(schema.items as JsonSchema, v, at + pointerStep(i), problems),
    ) as T;
  if (value && typeof value === 'object' && !Array.isArray(value) && schema.properties) {
    const props = schema.properties as Record<string, JsonSchema>;
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [k, v] of Object.entries(out))
      if (props[k]) out[k] = normalizeAt(props[k], v, at + pointerStep(k), problems);
    return out as T;
  }
  return value;
}

const typedNameMaxLength = (schema: JsonSchema): number | undefined => {
  const own = typedNames.has(schema) ? schema : (schema.anyOf as JsonSchema[]).find((s) => typedNames.has(s));
  return own?.maxLength as number | undefined;
};

const isTypedNameSchema = (schema: JsonSchema) =>
  typedNames.has(schema) || (schema.anyOf as JsonSchema[] | undefined)?.some((s) => typedNames.has(s));
const isUuidSchema = (schema: JsonSchema): boolean =>
  schema.format === 'uuid' || ((schema.anyOf as JsonSchema[] | undefined)?.some(isUuidSchema) ?? false);
const pointerStep = (key: string | number) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

/** JSON pointer → fault (typedNameFault) of every typed-name string of `value` that breaks the rule. */
function typedNameFaults(schema: JsonSchema, value: unknown, at = '', out = new Map<string, string>()) {
  if (typeof value === 'string') {
    const fault = isTypedNameSchema(schema) ? typedNameFault(value) : undefined;
    if (fault) out.set(at, fault);
  } else if (Array.isArray(value) && schema.items && typeof schema.items === 'object') {
    for (const [i, v] of value.entries())
      typedNameFaults(schema.items as JsonSchema, v, at + pointerStep(i), out);
  } else if (value && typeof value === 'object' && schema.properties) {
    const props = schema.properties as Record<string, JsonSchema>;
    for (const [k, v] of Object.entries(value))
      if (props[k]) typedNameFaults(props[k], v, at + pointerStep(k), out);
  }
  return out;
}

/**
 * `problems` (of `value` against `schema`) with each typed name's "must be …" message followed by
 * what is wrong in it — the refused characters are invisible, so they are named with their position:
 * "must be 1–200 characters on one line, …; it contains U+00AD (soft hyphen) at position 4: remove it".
 */
export function explainTypedNames(schema: JsonSchema, value: unknown, problems: Problem[]): Problem[] {
  const faults = typedNameFaults(schema, value);
  if (faults.size === 0) return problems;
  return problems.map((p) => {
    const fault = faults.get(p.pointer);
    return fault && p.message.endsWith(TYPED_NAME_RULE) ? { ...p, message: `${p.message}; ${fault}` } : p;
  });
}

/** A PATCH body: only the listed properties, at least one of them. */
export const patchBody = (properties: Record<string, JsonSchema>): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties,
});

/** A create body: only the listed properties, `required` among them. */
export const createBody = (properties: Record<string, JsonSchema>, required: string[]): JsonSchema => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});
