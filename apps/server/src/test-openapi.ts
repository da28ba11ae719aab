// Test helper (excluded from the build): validates responses against the served OpenAPI document.
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

type HeaderObject = { $ref?: string; required?: boolean; schema?: object };
type ResponseObject = {
  $ref?: string;
  content?: Record<string, unknown>;
  headers?: Record<string, HeaderObject>;
};
type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components?: { responses?: Record<string, ResponseObject>; headers?: Record<string, HeaderObject> };
};

/** Headers a client acts on: an answer that sends one must declare it (review r12 F12). */
const CHECKED_HEADERS = ['location', 'retry-after', 'content-disposition'];

/** Every timestamp the API prints: RFC 3339 in UTC with milliseconds (Date#toISOString). */
const API_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * `check(method, path, status, body, contentType, headers)` asserts that `body` matches the schema the
 * document declares for that operation and status (following $refs into components), that each of
 * Location, Retry-After and Content-Disposition the answer sends is declared for it (and matches its
 * schema) and each required one is sent; an undeclared status fails too. Timestamps in bodies must be
 * printed as the API prints them all (with milliseconds, in UTC).
 */
export function createResponseValidator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const dateTime = ajv.formats['date-time'] as { validate: (v: string) => boolean; compare: never };
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (v: string) => API_TIMESTAMP.test(v) && dateTime.validate(v),
    compare: dateTime.compare,
  });
  ajv.addSchema(doc as object, 'openapi.json');
  const headerValidators = new WeakMap<object, ReturnType<typeof ajv.compile>>();
  /** The headers a response declares, by lower-case name (its `$ref` and theirs followed). */
  const declaredHeaders = (response: ResponseObject): Map<string, HeaderObject> => {
    const resolved = response.$ref ? componentOf<ResponseObject>(doc, response.$ref) : response;
    const out = new Map<string, HeaderObject>();
    for (const [name, h] of Object.entries(resolved.headers ?? {}))
      out.set(name.toLowerCase(), h.$ref ? componentOf<HeaderObject>(doc, h.$ref) : h);
    return out;
  };
  function checkHeaders(what: string, response: ResponseObject, headers: Headers): void {
    const declared = declaredHeaders(response);
    for (const name of CHECKED_HEADERS) {
      const value = headers.get(name);
      const header = declared.get(name);
      if (value === null) {
        assert.ok(!header?.required, `${what} declares ${name} as required, but did not send it`);
        continue;
      }
      assert.ok(header, `${what} sends ${name} (${value}), which the document does not declare`);
      if (!header.schema) continue;
      let validate = headerValidators.get(header.schema);
      if (!validate) {
        validate = ajv.compile(header.schema);
        headerValidators.set(header.schema, validate);
      }
      const typed =
        (header.schema as { type?: string }).type === 'integer' && /^\d+$/.test(value)
          ? Number(value)
          : value;
      assert.ok(
        validate(typed),
        `${what}: ${name} ${value} does not match the document: ${ajv.errorsText(validate.errors)}`,
      );
    }
  }
  const templates = Object.keys(doc.paths).map((t) => ({
    template: t,
    re: new RegExp(`^${t.replace(/\{\w+\}/g, '[^/]+')}$`),
  }));
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  return function check(
    method: string,
    path: string,
    status: number,
    body: unknown,
    contentType = 'application/json',
    headers?: Headers,
  ): void {
    const pathname = path.split('?')[0]!;
    const matches = templates.filter((t) => t.re.test(pathname));
    // A literal segment beats a parameter (/scans/counts before /scans/{id}).
    const match = matches.sort(
      (a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0),
    )[0];
    assert.ok(match, `no OpenAPI path for ${pathname}`);
    // HEAD is answered by the GET operation, without a body.
    const op = doc.paths[match.template]?.[method === 'HEAD' ? 'get' : method.toLowerCase()];
    assert.ok(op, `no OpenAPI operation ${method} ${match.template}`);
    assert.ok(
      String(status) in op.responses,
      `${method} ${match.template} does not declare status ${status}`,
    );
    if (headers)
      checkHeaders(
        `${method} ${pathname} → ${status}`,
        op.responses[String(status)] as ResponseObject,
        headers,
      );
    if (method === 'HEAD') return;
    const escaped = match.template.replace(/~/g, '~0').replace(/\//g, '~1');
    let pointer = `openapi.json#/paths/${escaped}/${method.toLowerCase()}/responses/${status}`;
    const response = op.responses[String(status)] as { $ref?: string; content?: Record<string, unknown> };
    if (response.$ref) pointer = `openapi.json${response.$ref}`;
    const resolved = response.$ref ? { content: { 'application/json': {} } } : response;
    if (!resolved.content) {
      assert.ok(
        body === undefined || body === null || body === '',
        `${method} ${pathname} ${status} declares no body`,
      );
      return;
    }
    // The answer's media type must be one the operation declares; JSON ones are checked against its schema.
    const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
    if (response.$ref === undefined) {
      assert.ok(
        mediaType in resolved.content,
        `${method} ${pathname} → ${status} is ${mediaType}, the document declares ${Object.keys(resolved.content)}`,
      );
    }
    if (!mediaType.endsWith('json')) {
      assert.equal(typeof body, 'string', `${method} ${pathname} → ${status}: a ${mediaType} body`);
      return;
    }
    const media = response.$ref ? 'application/json' : mediaType;
    const key = `${pointer}/content/${media.replace(/~/g, '~0').replace(/\//g, '~1')}/schema`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile({ $ref: key });
      compiled.set(key, validate);
    }
    assert.ok(
      validate(body),
      `${method} ${pathname} → ${status} does not match the OpenAPI document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`,
    );
  };
}

/** The object a local `$ref` (`#/components/...`) points at. */
function componentOf<T>(doc: Doc, ref: string): T {
  let at: unknown = doc;
  for (const step of ref.replace(/^#\//, '').split('/')) at = (at as Record<string, unknown>)[step];
  assert.ok(at, `the document has no ${ref}`);
  return at as T;
}
