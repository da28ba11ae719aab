import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from '../errors.ts';
import { undecodableFormFields } from './form-utf8.ts';

/**
 * Postgres text cannot hold U+0000, so a NUL in a page's query parameter or form field would fail in
 * the query (a 500). Pages refuse it up front: a 422 naming the parameter or field, as a page for
 * people and JSON for programs (`respond`). A form field whose bytes are not UTF-8 is a 422 naming it
 * too (it would be stored with U+FFFD in place of the bad bytes: form-utf8.ts). A form body that does
 * not parse is a 400 `invalid_form` the same way, a file part (no page form takes one) a 422 naming its
 * field, and a POST that is not a form at all (JSON, text, no body) a 415 naming the form types. The API
 * checks its own query (readQuery) and bodies.
 */
export function refuseNul(
  respond: (c: Context, err: HttpError) => Response | Promise<Response>,
): MiddlewareHandler {
  return async (c, next) => {
    const problems: { pointer: string; message: string }[] = [];
    const query = new URL(c.req.url).searchParams;
    for (const [name, value] of query) {
      if (name.includes('\u0000') || value.includes('\u0000'))
        problems.push({ pointer: `/query/${name.replaceAll('\u0000', '')}`, message: NUL });
    }
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    // A page POST is a form: JSON, text or no body at all would fail later as a "stale form" (the
    // CSRF field is not found), which reloading cannot cure (review r18 F6).
    if (c.req.method === 'POST' && !FORM_TYPES.includes(type))
      return respond(
        c,
        new HttpError(
          415,
          'unsupported_media_type',
          `send the form as ${FORM_TYPES.join(' or ')} (this request's content type is ${type || 'missing'})`,
        ),
      );
    if (c.req.method === 'POST') {
      // Parsed once here; hono keeps the parsed form for the handler's own parseBody(). A body that
      // does not parse (a broken multipart boundary) would throw in the handler: a 500.
      let form: Awaited<ReturnType<typeof c.req.parseBody>>;
      try {
        form = await c.req.parseBody({ all: true });
      } catch (err) {
        return respond(
          c,
          new HttpError(400, 'invalid_form', `the form could not be read: its body is not valid ${type}`, {
            cause: err,
          }),
        );
      }
      for (const [name, value] of Object.entries(form)) {
        const values = Array.isArray(value) ? value : [value];
        if (name.includes('\u0000') || values.some((v) => typeof v === 'string' && v.includes('\u0000')))
          problems.push({ pointer: `/form/${name.replaceAll('\u0000', '')}`, message: NUL });
        // No page form takes a file (the mask editor posts to the API); a file part where text is
        // expected was read as an empty field, clearing it (review r18 F5).
        if (values.some((v) => typeof v !== 'string'))
          problems.push({ pointer: `/form/${name.replaceAll('\u0000', '')}`, message: FILE });
      }
      const body = new Uint8Array(await c.req.arrayBuffer()); // hono's cached copy, already read
      for (const name of undecodableFormFields(type, body, form))
        problems.push({ pointer: `/form/${name.replaceAll('\u0000', '')}`, message: NOT_UTF8 });
    }
    if (problems.length > 0) {
      const named = problems.map((p) => `${p.pointer}: ${p.message}`).join('; ');
      return respond(c, new HttpError(422, 'invalid_request', named, { problems }));
    }
    await next();
  };
}

/** What browsers send forms as; both reach the handlers' parseBody(). */
const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

const FILE = 'is a file where text is expected (no page form takes a file)';
const NUL = 'must not contain the NUL character (U+0000)';
const NOT_UTF8 = 'is not UTF-8 text (send the form as UTF-8)';
