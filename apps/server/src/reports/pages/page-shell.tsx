import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { Db } from '../../access/farm-access.ts';
import { unreadCount } from '../../access/notification-queries.ts';
import type { Principal } from '../../auth/principal.ts';
import { EmptyState } from '../../web/components/empty-state.tsx';
import { renderPage } from '../../web/layout.tsx';
import type { StaticAssets } from '../../web/static-routes.ts';

export type PageDeps = { sql: Db; staticAssets: StaticAssets };

export type PageStatus = 200 | 404 | 422;

const html = (body: string, status: PageStatus): Response =>
  new Response(body, {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
  });

/** The signed-in principal, or a redirect to the sign-in page that comes back here afterwards. */
export function pagePrincipal(c: Context): Principal | Response {
  const principal = c.get('principal') as Principal | undefined;
  if (principal) return principal;
  const url = new URL(c.req.url);
  return c.redirect(`/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
}

/** A page in the shared layout (navigation for the viewer's roles, notification badge, sign-out form). */
export async function layoutPage(
  { sql, staticAssets }: PageDeps,
  c: Context,
  principal: Principal,
  { title, children, status = 200 }: { title: string; children: Child; status?: PageStatus },
): Promise<Response> {
  return html(
    renderPage({
      title,
      assets: staticAssets,
      currentPath: c.req.path,
      viewer: { name: principal.fullName ?? principal.email, email: principal.email, roles: principal.roles },
      csrfToken: principal.csrfToken,
      unreadNotifications: await unreadCount(sql, principal.userId),
      children,
    }),
    status,
  );
}

/** The page for a farm or group that does not exist for this viewer — the same as for a missing one. */
export function notFoundPage(deps: PageDeps, c: Context, principal: Principal, what: string) {
  return layoutPage(deps, c, principal, {
    title: 'Not found',
    status: 404,
    children: (
      <EmptyState title={`No ${what} here`} action={{ href: '/reports', label: 'Back to reports' }}>
        <p>It does not exist, or it is on a farm you are not linked to.</p>
      </EmptyState>
    ),
  });
}

/** A full document string (doctype + markup) as a Response. */
export const documentResponse = (markup: unknown, status: PageStatus = 200): Response =>
  html(`<!doctype html>${String(markup)}`, status);
