import type { Context, Handler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { BADGE_COUNT_LIMIT, unreadCount } from '../../access/notification-queries.ts';
import type { ApiDeps } from '../../api/api-deps.ts';
import type { JsonSchema } from '../../api/api-route.ts';
import { explainTypedNames, normalizeInput } from '../../api/common-schemas.ts';
import { compileSchema, invalidRequest } from '../../api/request-validation.ts';
import { checkCsrfField } from '../../auth/csrf-protection.ts';
import type { AuthVariables, Principal } from '../../auth/principal.ts';
import { unauthenticated } from '../../auth/session-middleware.ts';
import { HttpError } from '../../errors.ts';
import type { ImageSizeReader } from '../../storage/image-size.ts';
import { canonicalUuid } from '../../text/uuid.ts';
import { type LayoutProps, renderPage } from '../layout.tsx';
import type { ScanLiveHub } from '../live/scan-live-hub.ts';
import type { StaticAssets } from '../static-routes.ts';
import { FALLBACK_TIME_ZONE, timeZoneAt } from '../time/farm-time-zone.ts';
import type { Role, Viewer } from '../view-types.ts';
import { flashFrom } from './flash.ts';

export type PageEnv = { Variables: AuthVariables };
export type PageContext = Context<PageEnv>;

/** Map tiles under the farm map (CTI_MAP_TILE_URL); the plain SVG map when unset. */
export type MapTiles = { url: string; attribution: string | undefined } | undefined;

/** What the page routes receive: the API's dependencies plus the view layer's. */
export type PageDeps = ApiDeps & {
  assets: StaticAssets;
  live: ScanLiveHub;
  /** Aborted when the server shuts down: ends open event streams. */
  shutdown: AbortSignal;
  tiles: MapTiles;
  /** Reads an image's pixel size from S3 (for the mask editor); undefined without S3. */
  imageSizes: ImageSizeReader | undefined;
};

/** Where a page file registers its routes: GET and POST, each behind the sign-in (and admin) guard. */
export type PageRouter = {
  /** `anonymous: 'handler'`: the handler answers anonymous callers itself (event streams: 401). */
  get(path: string, handler: Handler<PageEnv>, options?: { anonymous?: 'handler' }): void;
  post(path: string, handler: Handler<PageEnv>): void;
};

/** The signed-in person as the header shows them. */
export const viewerOf = (p: Principal): Viewer => ({
  name: p.fullName?.trim() || p.email,
  email: p.email,
  roles: p.roles as Role[],
});

/** The signed-in principal (the page router already redirected anonymous visitors). */
export function userOf(c: PageContext): Principal {
  const principal = c.get('principal');
  if (principal === undefined) throw unauthenticated();
  return principal;
}

export type PageProps = Omit<
  LayoutProps,
  'assets' | 'currentPath' | 'viewer' | 'csrfToken' | 'unreadNotifications'
>;

/**
 * A full page in the shared layout: the viewer, their unread count for the badge, the CSRF token for
 * forms and scripts, flash messages carried by `?done=`. Never cached (pages hold presigned URLs).
 */
export async function sendPage(
  c: PageContext,
  deps: Pick<PageDeps, 'sql' | 'assets'>,
  props: PageProps,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  const principal = c.get('principal');
  const unread = principal ? await unreadCount(deps.sql, principal, { atMost: BADGE_COUNT_LIMIT }) : 0;
  const html = renderPage({
    ...props,
    assets: deps.assets,
    currentPath: c.req.path,
    viewer: principal ? viewerOf(principal) : null,
    csrfToken: principal?.csrfToken,
    unreadNotifications: unread,
    flash: [...flashFrom(c.req.query('done')), ...(props.flash ?? [])],
  });
  c.header('Cache-Control', 'no-store');
  return c.html(html, status);
}

export type FormValues = Record<string, string | string[] | File | (string | File)[]>;

/** A POSTed form of a signed-in page, after its `_csrf` field was checked against the session's. */
export async function readForm(c: PageContext): Promise<FormValues> {
  const form = (await c.req.parseBody({ all: true })) as FormValues;
  checkCsrfField(first(form._csrf), userOf(c).csrfToken);
  return form;
}

const first = (v: FormValues[string] | undefined): string | undefined => {
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one : undefined;
};

/** A single text field of a form ('' when absent). */
export const textOf = (form: FormValues, name: string): string => first(form[name]) ?? '';

/**
 * The text of each of `names` that the form carries, the absent ones left out: on an edit form an
 * absent field keeps the stored value and only a field sent empty clears it (a stale cached form, or a
 * client sending only what changed, wiped the rest: review r18 F9). Not for checkboxes, which a
 * browser leaves out when unchecked.
 */
export function presentTexts<K extends string>(
  form: FormValues,
  names: readonly K[],
): Partial<Record<K, string>> {
  return Object.fromEntries(names.filter((n) => n in form).map((n) => [n, textOf(form, n)])) as Partial<
    Record<K, string>
  >;
}

/** Every value of a repeated field (checkboxes). */
export const valuesOf = (form: FormValues, name: string): string[] => {
  const v = form[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter(
    (x): x is string => typeof x === 'string',
  );
};

/** A trimmed text field, or null when left empty (optional fields). */
export const optionalText = (form: FormValues, name: string): string | null =>
  textOf(form, name).trim() || null;

/** POST → 303 to `path`, with a flash message code (`?done=`) the next page shows. */
export function redirectDone(c: PageContext, path: string, done?: string): Response {
  const url = new URL(path, 'http://x');
  if (done) url.searchParams.set('done', done);
  return c.redirect(`${url.pathname}${url.search}${url.hash}`, 303);
}

export type FieldErrors = Record<string, string>;

/**
 * The problems of a 4xx as messages beside the form's fields: `/geofence/coordinates/0` → `geofence`,
 * worded with the field's label ("Name must not be empty."). A problem for no known field, or an
 * error without problems, goes to `_form` (shown at the top).
 */
export function fieldErrors(err: HttpError, labels: Record<string, string>): FieldErrors {
  const errors: FieldErrors = {};
  for (const p of err.problems ?? []) {
    const segments = p.pointer.replace(/^\/(query\/|form\/)?/, '').split('/');
    const root = segments[0] ?? '';
    // `/farms/0/farm_id`: the form's own field is the last part (its label, no "(at 0/farm_id)").
    const last = segments.at(-1) ?? '';
    const name = segments.length > 1 && last in labels ? last : root in labels ? root : '_form';
    const where = name !== root || segments.length === 1 ? '' : ` (at ${segments.slice(1).join('/')})`;
    const label = labels[name] ?? 'This form';
    errors[name] ??= `${label} ${labelled(p.message, labels)}${where}.`;
  }
  if (Object.keys(errors).length === 0) errors._form = sentence(labelled(err.message, labels));
  return errors;
}

/** The API's words for other fields in a message (`before birth_date_from`) → the form's labels (r18 F10). */
const labelled = (message: string, labels: Record<string, string>) =>
  message.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (name) => labels[name] ?? name);

const sentence = (text: string) => {
  const t = text.trim();
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
};

/**
 * `body` checked against one of the API's JSON schemas (422 naming each field otherwise), its typed
 * names NFC-normalised as the API's are (normalizeInput).
 */
export function validated<T>(schema: JsonSchema, body: T): T {
  const result = compileSchema(schema)(body);
  if (!result.ok) throw invalidRequest(explainTypedNames(schema, body, result.problems));
  return normalizeInput(schema, body);
}

/** Runs a form action; an expected refusal (422/409) becomes field errors, anything else is thrown. */
export async function attempt<T>(
  action: () => Promise<T>,
  labels: Record<string, string>,
): Promise<{ ok: true; value: T } | { ok: false; errors: FieldErrors; status: 409 | 422 }> {
  try {
    return { ok: true, value: await action() };
  } catch (err) {
    if (err instanceof HttpError && (err.status === 422 || err.status === 409)) {
      return { ok: false, errors: fieldErrors(err, labels), status: err.status };
    }
    throw err;
  }
}

/** A 422 for a form field left empty (`must be chosen` / `must not be empty`), named like the schema's. */
export const emptyField = (name: string, message = 'must be chosen') =>
  new HttpError(422, 'invalid_request', `${name} ${message}`, {
    problems: [{ pointer: `/${name}`, message }],
  });

/** A path parameter that must be a uuid: anything else is the same 404 as a missing row. */
export function idParam(c: PageContext, name = 'id'): string {
  const id = canonicalUuid(c.req.param(name));
  if (id === undefined) throw pageNotFound();
  return id;
}

export const pageNotFound = () =>
  new HttpError(404, 'not_found', 'There is nothing here, or it is not yours to see.');

/** The local time zone of a farm from its centroid; UTC when it has none. */
export const farmZone = (location: { lat: number; lon: number } | null | undefined): string =>
  location ? timeZoneAt(location) : FALLBACK_TIME_ZONE;

/** Farm id → its local time zone (farmZone), for listDevices' `farmZones` and deviceZone. */
export const farmZones = (
  farms: readonly { id: string; centroid: { lat: number; lon: number } | null }[],
): Map<string, string> => new Map(farms.map((f) => [f.id, farmZone(f.centroid)]));

/** A device's times are its farm's local time (issue 12), UTC for a device without a farm. */
export const deviceZone = (device: { farm: { id: string } | null }, zones: ReadonlyMap<string, string>) =>
  (device.farm && zones.get(device.farm.id)) || FALLBACK_TIME_ZONE;

/** The zone shared by all these farms (a viewer's "own" time), else UTC. */
export function commonZone(farms: readonly { centroid: { lat: number; lon: number } | null }[]): string {
  const zones = new Set(farms.map((f) => farmZone(f.centroid)));
  return zones.size === 1 ? [...zones][0]! : FALLBACK_TIME_ZONE;
}

/** A `<dl>` of label → value pairs (values already components or text). */
export function Facts({ items }: { items: readonly [string, unknown][] }) {
  return (
    <dl class="facts">
      {items.map(([label, value]) => (
        <div>
          <dt>{label}</dt>
          <dd>{value as string}</dd>
        </div>
      ))}
    </dl>
  );
}
