import { compileValidator, type Problem, unstorableTextProblems } from '@cti/contracts';
import type { Context } from 'hono';
import { HttpError } from '../errors.ts';
import { readRequestBody } from '../ingest/read-body.ts';
import type { JsonSchema, QueryParam } from './api-route.ts';
import { explainTypedNames, normalizeInput } from './common-schemas.ts';

export { UUID_RE } from '../text/uuid.ts';

const INT8_MAX = 9223372036854775807n;

/** The largest JSON or multipart body of an /api/v1 request (413 body_too_large beyond it). */
export const BODY_LIMIT_BYTES = 1024 * 1024;
const bodyLimit = { limitBytes: BODY_LIMIT_BYTES, onBytes: () => {} };

/**
 * A bigserial key as decimal text: 1 to 2^63 - 1, no sign, no leading zero. Kept as text end to end
 * (SQL `${id}::int8`, JSON strings): a JavaScript number is exact only to 2^53.
 * `isInt8Id('9007199254740993')` → true; `isInt8Id('9223372036854775808')` → false.
 */
export const isInt8Id = (text: string): boolean => /^[1-9]\d{0,18}$/.test(text) && BigInt(text) <= INT8_MAX;

export const invalidRequest = (problems: Problem[], message = 'the request has invalid fields') =>
  new HttpError(
    422,
    'invalid_request',
    `${message}: ${problems.map((p) => `${p.pointer || '(body)'} ${p.message}`).join('; ')}`,
    {
      problems,
    },
  );

export const notFound = (what: string) => new HttpError(404, 'not_found', `no ${what} with that id`);

type Validator = (data: unknown) => { ok: true; value: unknown } | { ok: false; problems: Problem[] };
const cache = new WeakMap<object, Validator>();

export function compileSchema(schema: object): Validator {
  let v = cache.get(schema);
  if (v === undefined) {
    v = compileValidator<unknown>(schema);
    cache.set(schema, v);
  }
  return v;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON body validated against `schema`: 415 if not JSON, 400 if not UTF-8 or unparsable, 422
 * naming each field. Typed names (shortText fields) come back NFC-normalised.
 */
export async function readJsonBody(c: Context, schema: JsonSchema): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(415, 'unsupported_media_type', 'send the body as Content-Type: application/json');
  }
  let text: string;
  try {
    // Fatal: Request.text() would turn bytes that are not UTF-8 into U+FFFD and store them so.
    text = utf8.decode(await readRequestBody(c, bodyLimit));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, 'invalid_json', 'the body is not UTF-8 (JSON must be sent as UTF-8)');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
  // Text Postgres cannot store as sent (U+0000, an unpaired surrogate), named by pointer beside any
  // schema problems: refused here rather than failing in the query (500) or stored as U+FFFD.
  const unstorable = unstorableTextProblems(body);
  const result = compileSchema(schema)(body);
  if (!result.ok) throw invalidRequest([...unstorable, ...explainTypedNames(schema, body, result.problems)]);
  if (unstorable.length > 0) throw invalidRequest(unstorable);
  return normalizeInput(schema, result.value);
}

/**
 * A multipart/form-data body as FormData: 415 for another media type, 400 when it cannot be parsed
 * (a broken boundary, a truncated part). The fields are the handler's to validate.
 */
export async function readFormBody(c: Context): Promise<FormData> {
  const type = c.req.header('content-type') ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      'send the body as Content-Type: multipart/form-data (with its boundary)',
    );
  }
  const bytes = await readRequestBody(c, bodyLimit);
  try {
    return await new Response(bytes, { headers: { 'content-type': type } }).formData();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, 'invalid_multipart', 'the multipart/form-data body could not be parsed', {
      cause: err,
    });
  }
}

const querySchemas = new WeakMap<object, JsonSchema>();

/**
 * Query parameters coerced by their declared type (integer, number, boolean, string) and validated;
 * unknown or repeated parameters are refused. Problems point at `/query/<name>`.
 */
export function readQuery(c: Context, params: Record<string, QueryParam>): Record<string, unknown> {
  const raw = new URL(c.req.url).searchParams;
  const out: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const name of new Set(raw.keys())) {
    const values = raw.getAll(name);
    const spec = params[name];
    if (spec === undefined) {
      problems.push({ pointer: `/query/${name}`, message: 'is not a parameter of this route' });
      continue;
    }
    if (values.length > 1) problems.push({ pointer: `/query/${name}`, message: 'must be given once' });
    // Postgres text cannot hold U+0000: refused here rather than failing in the query as a 500.
    if (values.some((v) => v.includes('\u0000')))
      problems.push({ pointer: `/query/${name}`, message: 'must not contain U+0000 characters' });
    out[name] = coerce(values[0]!, spec.schema);
  }
  if (problems.length > 0) throw invalidRequest(problems, 'invalid query parameters');
  const schema = querySchemaOf(params);
  const result = compileSchema(schema)(out);
  if (!result.ok) {
    throw invalidRequest(
      result.problems.map((p) => ({ pointer: `/query${p.pointer}`, message: p.message })),
      'invalid query parameters',
    );
  }
  // Uuids in lower case, typed names (shortText) NFC-normalised and trimmed, as in bodies.
  return normalizeInput(schema, out, '/query');
}

/** The validator of a route's query parameters (as one object schema), compiled once. */
export function compileQuerySchema(params: Record<string, QueryParam>): Validator {
  return compileSchema(querySchemaOf(params));
}

/** A route's query parameters as one object schema, made once per parameter table. */
function querySchemaOf(params: Record<string, QueryParam>): JsonSchema {
  let schema = querySchemas.get(params);
  if (schema === undefined) {
    schema = {
      type: 'object',
      properties: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.schema])),
      required: Object.entries(params)
        .filter(([, v]) => v.required)
        .map(([k]) => k),
    };
    querySchemas.set(params, schema);
  }
  return schema;
}

function coerce(value: string, schema: JsonSchema): unknown {
  switch (schema.type) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    default:
      return value;
  }
}
