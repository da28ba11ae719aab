import type { JsonSchema } from './api-route.ts';

export const uuid: JsonSchema = { type: 'string', format: 'uuid' };
/**
 * An RFC 3339 date-time. RFC 3339 allows a leap second (`23:59:60`), which Postgres refuses with a
 * fraction and JavaScript's Date never parses: refused here as bad input rather than failing later.
 */
export const dateTime: JsonSchema = {
  type: 'string',
  format: 'date-time',
  pattern: '^(?!\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:60)',
  'x-expected': 'an RFC 3339 date-time without a leap second, e.g. 2025-09-09T14:18:32Z',
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
export const cursorParam = {
  schema: { type: 'string', minLength: 1, maxLength: 200 },
  description: 'next_cursor of the previous page.',
};

/** A short single-line text field (names, labels): trimmed length ≥ 1, no control characters. */
export const shortText = (maxLength: number): JsonSchema => ({
  type: 'string',
  minLength: 1,
  maxLength,
  pattern: '^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$',
  'x-expected': `1–${maxLength} characters on one line, not only spaces`,
});

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
