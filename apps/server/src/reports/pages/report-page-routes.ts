import { Hono } from 'hono';
import type { AuthVariables } from '../../auth/principal.ts';
import { type PageDeps, pagePrincipal } from './page-shell.tsx';
import { printReportPage } from './print-report-page.tsx';
import { reportsPage } from './reports-page.tsx';

/**
 * The reports pages: GET /reports (filters as a GET form, the report, downloads) and
 * GET /reports/farms/{id}/print?day= (the printable day report). Signed-out visitors are sent to the
 * sign-in page and back; every figure goes through the role-scoped queries.
 */
export function createReportPageRoutes(deps: PageDeps): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>();
  app.get('/reports', async (c) => {
    const principal = pagePrincipal(c);
    return principal instanceof Response ? principal : reportsPage(deps, c, principal);
  });
  app.get('/reports/farms/:id/print', async (c) => {
    const principal = pagePrincipal(c);
    return principal instanceof Response ? principal : printReportPage(deps, c, principal);
  });
  return app;
}
