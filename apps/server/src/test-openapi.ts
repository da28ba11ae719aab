// Test helper (excluded from the build): validates responses against the served OpenAPI document.
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

/**
 * `check(method, path, status, body)` asserts that `body` matches the schema the document declares for
 * that operation and status (following $refs into components); an undeclared status fails too.
 */
export function createResponseValidator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
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
