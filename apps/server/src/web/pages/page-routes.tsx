import { type Handler, Hono } from 'hono';
import { isAdmin } from '../../auth/principal.ts';
import { forbidden } from '../../auth/session-middleware.ts';
import { isRetryableDatabaseError } from '../../db/database-errors.ts';
import { HttpError } from '../../errors.ts';
import { reportPages } from '../../reports/pages/reports-page.tsx';
import { renderPage } from '../layout.tsx';
import { adminAnnouncementPages } from './admin-announcements-pages.tsx';
import { adminRegistrationPages } from './admin-registrations-page.tsx';
import { adminUserPages } from './admin-users-pages.tsx';
import { animalPages } from './animals-pages.tsx';
import { devicePages } from './device-page.tsx';
import { farmPages } from './farms-pages.tsx';
import { fleetPages } from './fleet-page.tsx';
import { groupPages } from './groups-pages.tsx';
import { homePages } from './home-page.tsx';
import { notificationPages } from './notifications-page.tsx';
import { type PageContext, type PageDeps, type PageEnv, type PageRouter, viewerOf } from './page-kit.tsx';
import { scanDetailPages } from './scan-detail-page.tsx';
import { scanListPages } from './scans-list-page.tsx';

const TITLES: Record<number, string> = {
  400: 'Not readable',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Not possible',
  413: 'Too large',
  422: 'Not accepted',
  429: 'Too many attempts',
  503: 'Please try again shortly',
};

/**
 * The dashboard's pages (everything but sign-in, registration and account, which live in src/auth):
 * anonymous visitors are sent to /sign-in?next=…, /admin/* answers 403 to non-admins, and failures
 * become pages in the layout — the same "Not found" for a missing row and for another farm's.
 */
export function createPageRoutes(deps: PageDeps): Hono<PageEnv> {
  const app = new Hono<PageEnv>();
  const guard =
    (handler: Handler<PageEnv>, anonymous?: 'handler'): Handler<PageEnv> =>
    (c, next) => {
      const principal = c.get('principal');
      if (principal === undefined && anonymous !== 'handler') {
        const here = new URL(c.req.url);
        const back = c.req.method === 'GET' ? `${here.pathname}${here.search}` : '/';
        return c.redirect(`/sign-in?next=${encodeURIComponent(back)}`, 303);
      }
      if (c.req.path.startsWith('/admin/') && principal && !isAdmin(principal)) {
        throw forbidden('only admins may use this page');
      }
      return handler(c, next);
    };
  const router: PageRouter = {
    get: (path, handler, options) => void app.get(path, guard(handler, options?.anonymous)),
    post: (path, handler) => void app.post(path, guard(handler)),
  };
  homePages(router, deps);
  scanListPages(router, deps);
  scanDetailPages(router, deps);
  animalPages(router, deps);
  farmPages(router, deps);
  fleetPages(router, deps);
  devicePages(router, deps);
  groupPages(router, deps);
  notificationPages(router, deps);
  reportPages(router, deps);
  adminUserPages(router, deps);
  adminRegistrationPages(router, deps);
  adminAnnouncementPages(router, deps);
  app.onError((err, c) => errorPage(c as PageContext, err, deps));
  return app;
}

/** A failure as a page in the layout (no database query: it may be the database that failed). */
export function errorPage(c: PageContext, err: unknown, deps: Pick<PageDeps, 'assets' | 'log' | 'config'>) {
  let status = 500;
  let message = 'Something went wrong on our side. The error is logged; please try again.';
  if (err instanceof HttpError) {
    status = err.status;
    message = plainWords(err);
    for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  } else if (isRetryableDatabaseError(err)) {
    status = 503;
    message = 'The database is unavailable for a moment. Please reload the page shortly.';
    c.header('Retry-After', String(deps.config.retryAfterSeconds));
  } else {
    deps.log.error({ err, requestId: c.get('requestId'), path: c.req.path }, 'unhandled error');
  }
  const principal = c.get('principal');
  c.header('Cache-Control', 'no-store');
  return c.html(
    renderPage({
      title: TITLES[status] ?? 'Error',
      assets: deps.assets,
      currentPath: c.req.path,
      viewer: principal ? viewerOf(principal) : null,
      csrfToken: principal?.csrfToken,
      children: (
        <>
          <p class="error-message">{sentence(message)}</p>
          <p>
            <a href="/">Back to the overview</a>
          </p>
        </>
      ),
    }),
    status as 500,
  );
}

/**
 * An error page speaks of the address's values and the form's fields by name, never by JSON pointer
 * ("/query/days must be …", "/form/reason: must not …" read as developer words: review r18 F10).
 */
function plainWords(err: HttpError): string {
  const named = (err.problems ?? []).map((p) => {
    const m = /^\/(query|form)\/([^/]+)$/.exec(p.pointer);
    if (!m) return undefined;
    const name = m[2]!.replaceAll('_', ' ');
    return m[1] === 'query'
      ? `the address's “${name}” value ${p.message}`
      : `the form's “${name}” field ${p.message}`;
  });
  const pointered = /(^|\s)\/(query|form)\//.test(err.message);
  if (!pointered || named.length === 0 || named.some((n) => n === undefined)) return err.message;
  return named.join('; ');
}

const sentence = (t: string) => `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
